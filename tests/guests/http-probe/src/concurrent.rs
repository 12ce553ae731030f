//! Many GETs in flight at once, on the raw `wasi:http` API (the SDK's
//! client sends one request at a time).

use task_plugin_sdk::http::Url;
use task_plugin_sdk::{Error, Result};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    Fields, FutureIncomingResponse, IncomingResponse, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

/// Sends `n` GETs to `url` before waiting for any, then reads each response
/// as it arrives; returns how many answered 200.
pub fn get_all(url: &Url, n: usize) -> Result<usize> {
    let mut pending: Vec<FutureIncomingResponse> =
        (0..n).map(|_| send(url)).collect::<Result<_>>()?;
    let mut ok = 0;
    // Bounded: each round finishes at least one response.
    while !pending.is_empty() {
        let pollables: Vec<_> = pending.iter().map(|f| f.subscribe()).collect();
        let refs: Vec<_> = pollables.iter().collect();
        let ready = wasi::io::poll::poll(&refs);
        drop(refs);
        drop(pollables);
        let mut ready: Vec<usize> = ready.into_iter().map(|i| i as usize).collect();
        ready.sort_unstable_by(|a, b| b.cmp(a));
        for i in ready {
            let future = pending.swap_remove(i);
            let response = match future.get() {
                Some(Ok(Ok(r))) => r,
                Some(Ok(Err(code))) => return Err(Error::remote(0, "http", format!("{code:?}"))),
                _ => return Err(Error::Internal("response not ready".into())),
            };
            if response.status() == 200 {
                ok += 1;
            }
            read_to_end(response)?;
        }
    }
    Ok(ok)
}

fn send(url: &Url) -> Result<FutureIncomingResponse> {
    let request = OutgoingRequest::new(Fields::new());
    let scheme = if url.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let bad = |_| Error::InvalidParams("the host rejected the URL".into());
    request.set_scheme(Some(&scheme)).map_err(bad)?;
    request.set_authority(Some(&url.authority)).map_err(bad)?;
    request
        .set_path_with_query(Some(&url.path_with_query))
        .map_err(bad)?;
    let body = request
        .body()
        .map_err(|_| Error::Internal("no body".into()))?;
    OutgoingBody::finish(body, None).map_err(|e| Error::Internal(format!("{e:?}")))?;
    outgoing_handler::handle(request, None).map_err(|e| Error::remote(0, "http", format!("{e:?}")))
}

/// Reads and drops the body (releasing the host's slot for this request).
fn read_to_end(response: IncomingResponse) -> Result<()> {
    let body = response
        .consume()
        .map_err(|_| Error::Internal("no body".into()))?;
    {
        let stream = body
            .stream()
            .map_err(|_| Error::Internal("no body stream".into()))?;
        // Bounded: the server closes the body after its few bytes.
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(_) => {}
                Err(StreamError::Closed) => break,
                Err(e) => return Err(Error::remote(0, "http", format!("{e:?}"))),
            }
        }
    }
    drop(body);
    drop(response);
    Ok(())
}
