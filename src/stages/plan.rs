//! Stage: where this run publishes, and why — from the context and the settings.

use crate::config::Settings;
use crate::gha::Context;
use crate::plan::{self, Pattern, Plan, PlanInput, Target};

pub(crate) fn run(ctx: &Context, settings: &Settings) -> Plan {
    // Patterns were validated when the settings were read; a failure here cannot happen, but
    // degrade to "no target" rather than panic.
    let (Ok(tag_pattern), Ok(branches)) = (
        Pattern::new(&settings.tag_pattern),
        settings
            .branches
            .iter()
            .map(|b| Pattern::new(b))
            .collect::<Result<Vec<_>, _>>(),
    ) else {
        return Plan {
            target: Target::None,
            reason: "invalid tag-pattern or branches".into(),
            tag: None,
        };
    };
    plan::plan(&PlanInput {
        event: &ctx.event_name,
        git_ref: &ctx.git_ref,
        default_branch: ctx.default_branch.as_deref(),
        fork: ctx.fork,
        mode: settings.mode,
        tag_pattern: &tag_pattern,
        branches: &branches,
        rehearsal: settings.dry_run,
    })
}
