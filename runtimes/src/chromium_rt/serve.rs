//! The page's server: HTTP/1.1 on loopback, one thread per connection, `Connection: close`.
//! GETs are answered from a fixed table; POSTs (the page's reports) go to a channel. The origin
//! `http://127.0.0.1:PORT` is potentially trustworthy, so COOP/COEP make the page cross-origin
//! isolated without TLS.

use anyhow::{Context as _, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

/// (content type, body) by path.
pub type Routes = HashMap<String, (&'static str, Vec<u8>)>;

/// A POST from the page: (path, body).
pub type Post = (String, Vec<u8>);

pub struct Server {
    pub port: u16,
    pub posts: Receiver<Post>,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Server {
    /// Serves `routes`; with `isolated`, every response carries the headers that make the page
    /// cross-origin isolated. A POST body over `max_body` bytes is refused (413).
    pub fn start(routes: Routes, isolated: bool, max_body: usize) -> Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, posts) = channel();
        let routes = Arc::new(routes);
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (routes, tx) = (routes.clone(), tx.clone());
                        std::thread::spawn(move || {
                            let _ = serve(conn, &routes, isolated, max_body, &tx);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Server { port, posts, stop })
    }
}

fn serve(
    conn: TcpStream,
    routes: &Routes,
    isolated: bool,
    max_body: usize,
    tx: &Sender<Post>,
) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split('?').next().unwrap_or("/").to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut w = conn;
    let (status, ctype, body): (&str, &str, &[u8]) = match method {
        "POST" if length > max_body => ("413 Payload Too Large", "text/plain", b"too large"),
        "POST" => {
            let mut body = vec![0; length];
            r.read_exact(&mut body)?;
            let _ = tx.send((path, body));
            ("204 No Content", "text/plain", b"")
        }
        "GET" => match routes.get(&path) {
            Some((t, b)) => ("200 OK", t, b),
            None => ("404 Not Found", "text/plain", b"not found"),
        },
        _ => ("405 Method Not Allowed", "text/plain", b""),
    };
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n",
        body.len()
    );
    if isolated {
        head.push_str(
            "Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n\
             Cross-Origin-Resource-Policy: same-origin\r\n",
        );
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}
