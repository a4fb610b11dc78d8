//! Stage: a PEP 740 publish attestation for each file the index lacks, verified and saved
//! beside it (`<file>.publish.attestation`); the upload sends each with its file.
//!
//! Its own stage rather than a part of publishing: it runs after trusted publishing's
//! exchange (a Trusted Publisher the index refuses stops the run before anything is written
//! to Sigstore's public transparency log) and before the first upload, and only for files
//! the index lacks (an attestation travels with a file's first upload or never). Both facts
//! come from the publish stage's connection, handed over by `pipeline`; the attestations go
//! back to the upload as plain form values.

use std::collections::HashMap;
use std::path::PathBuf;

use futures_util::future::BoxFuture;

use super::{RunError, StageError};
use crate::attest::{AttestError, Attested, Attester, TokenSource};
use crate::auth::Method;
use crate::config::{AttestSettings, AttestWhen, IndexTarget};
use crate::dist::Distribution;
use crate::gha::oidc::IdTokenRequest;
use crate::gha::Runtime;
use crate::secret::Secret;

/// The attestations one run made, in the order of the files.
#[derive(Debug, Default)]
pub(crate) struct Attestations {
    pub made: Vec<Attested>,
}

impl Attestations {
    /// File name -> the upload form's `attestations` value.
    pub(crate) fn form_values(&self) -> HashMap<String, String> {
        self.made
            .iter()
            .map(|a| (a.filename.clone(), a.form_value()))
            .collect()
    }

    /// Where each was saved, for the GitHub Release's assets.
    pub(crate) fn saved(&self) -> Vec<PathBuf> {
        self.made.iter().map(|a| a.saved.clone()).collect()
    }
}

/// `attestations: true` needs trusted publishing: known before any file work.
pub(crate) fn preflight(
    settings: &AttestSettings,
    method: &Method,
    target: &IndexTarget,
) -> Result<(), RunError> {
    match (settings.when, method) {
        (AttestWhen::Always, Method::Token(_)) => Err(StageError::AttestNeedsTrustedPublishing {
            label: target.names.label,
            input: target.names.token_input,
        }
        .into()),
        _ => Ok(()),
    }
}

/// The ID-token endpoint to attest with, when this run attests: `auto` and `true` attest
/// trusted-publishing uploads, the only ones PyPI takes attestations from (`true` with a
/// token was refused by [`preflight`]).
pub(crate) fn wanted<'r>(
    settings: &AttestSettings,
    trusted_publishing: Option<&'r IdTokenRequest>,
) -> Option<&'r IdTokenRequest> {
    trusted_publishing.filter(|_| settings.when != AttestWhen::Never)
}

/// Attest each of `files` (those the index lacks). The outcome holds what was made even when
/// a later file fails.
pub(crate) async fn run(
    files: &[&Distribution],
    id_token: &IdTokenRequest,
    settings: &AttestSettings,
    dry_run: bool,
    rt: &Runtime,
) -> (Attestations, Result<(), RunError>) {
    let mut out = Attestations::default();
    if dry_run {
        rt.info(&format!(
            "dry run: would attest {} file(s) with Sigstore ({}) and send the attestations with the uploads",
            files.len(),
            settings.sigstore.fulcio_url
        ));
        return (out, Ok(()));
    }
    let tokens = MaskedTokens { id_token, rt };
    let result = attest_each(files, &tokens, settings, rt, &mut out.made).await;
    (out, result.map_err(|e| StageError::Attest(e).into()))
}

async fn attest_each(
    files: &[&Distribution],
    tokens: &MaskedTokens<'_>,
    settings: &AttestSettings,
    rt: &Runtime,
    made: &mut Vec<Attested>,
) -> Result<(), AttestError> {
    let mut attester = Attester::new(settings.sigstore.clone(), tokens)?;
    for d in files {
        let a = attester.attest_file(&d.path).await?;
        rt.info(&format!(
            "attested {} (signed by {}; Rekor log index {}; saved as {})",
            a.filename,
            a.identity,
            a.log_index,
            a.saved.display()
        ));
        made.push(a);
    }
    rt.info(&format!(
        "{} attestation(s) made with {} certificate(s), each verified before upload",
        made.len(),
        attester.certificates()
    ));
    Ok(())
}

/// Sigstore's ID tokens, masked in the log as soon as they exist (as the index's are); the
/// `attest` command uses it too.
pub(crate) struct MaskedTokens<'a> {
    pub id_token: &'a IdTokenRequest,
    pub rt: &'a Runtime,
}

impl TokenSource for MaskedTokens<'_> {
    fn sigstore_token(&self) -> BoxFuture<'_, Result<Secret, AttestError>> {
        Box::pin(async move {
            let token = self.id_token.sigstore_token().await?;
            self.rt.mask(&token);
            Ok(token)
        })
    }
}
