#![forbid(unsafe_code)]
//! The in-memory baseline for `bench/run.sh`: answers every GET, whatever its path, with the bytes of one file
//! as `application/json`. It runs on the same runtime flavour as `linkwell serve` (tokio multi-thread, default
//! worker count) and the same axum/hyper stack, so the difference between the two is what linkwell does per
//! request: routing, authentication, the database round trip and JSON encoding.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "bare-server",
    about = "Serve one file's bytes as application/json on every GET path"
)]
struct Args {
    /// Address to listen on (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:18182")]
    listen: SocketAddr,
    /// The file whose bytes every GET returns.
    #[arg(long)]
    body: PathBuf,
}

/// linkwell answers with an `x-correlation-id` of 32 hex digits; a fixed one keeps the responses the same size.
const CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");
const CORRELATION_VALUE: HeaderValue = HeaderValue::from_static("00000000000000000000000000000000");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

async fn answer(
    axum::extract::State(body): axum::extract::State<Bytes>,
    method: Method,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    (
        [
            (CONTENT_TYPE, JSON),
            (CORRELATION_HEADER, CORRELATION_VALUE),
        ],
        body,
    )
        .into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body = Bytes::from(
        std::fs::read(&args.body).with_context(|| format!("reading {}", args.body.display()))?,
    );
    let size = body.len();
    let app = Router::new().fallback(answer).with_state(body);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    eprintln!(
        "bare-server: serving {size} bytes on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
