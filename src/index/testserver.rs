//! Loopback HTTP/1.1 for the index client's unit tests: each test's server decides what to
//! answer; reading a request as the client sends it is done here once.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request line and headers, with the blank line that ends them.
    pub head: String,
    /// Read by `Content-Length` (empty without one).
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// The request target (`/simple/x/`).
    pub fn path(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or("")
    }

    /// Head and body as one text, the way they crossed the wire.
    pub fn text(&self) -> String {
        format!("{}{}", self.head, String::from_utf8_lossy(&self.body))
    }
}

/// The head, then the body by its `Content-Length`; `None` when the client closed (or the
/// connection failed) before the whole request arrived.
pub async fn read_request(sock: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut req = Request {
        head: String::from_utf8_lossy(&buf[..head_end]).into_owned(),
        body: buf[head_end..].to_vec(),
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while req.body.len() < len {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => req.body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(req)
}
