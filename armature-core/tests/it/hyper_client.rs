//! hyper 1.x's client as an independent peer: headers, large bodies both ways,
//! connection reuse through the pooling client, concurrent connections.

use http_body_util::{BodyExt, Empty, Full};

use crate::support::{
    assert_imf_fixdate, config, echo_app, hyper_client, start, start_with, stop_async,
};
use armature_core::Bytes;

#[tokio::test]
async fn hyper_get_sees_the_standard_headers() {
    let server = start(echo_app());
    let client = hyper_client::<Empty<Bytes>>();
    let uri: hyper::Uri = format!("http://{}/text", server.addr()).parse().unwrap();
    let resp = client.get(uri).await.expect("GET /text");
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["server"], "armature");
    assert_eq!(h["content-length"], "13");
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_imf_fixdate(h["date"].to_str().unwrap());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "Hello, World!");
    drop(client);
    stop_async(server).await;
}

#[tokio::test]
async fn hyper_post_of_a_one_mib_body_is_echoed_intact() {
    let server = start(echo_app());
    let client = hyper_client::<Full<Bytes>>();
    let body: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let req = hyper::Request::post(format!("http://{}/body", server.addr()))
        .header("content-type", "application/octet-stream")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let resp = client.request(req).await.expect("POST /body");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-length"],
        (1024 * 1024).to_string().as_str()
    );
    let got = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(got == body, "1 MiB echo differs (got {} bytes)", got.len());
    drop(client);
    stop_async(server).await;
}

#[tokio::test]
async fn hyper_pooled_client_with_concurrent_connections() {
    let server = start(echo_app());
    let addr = server.addr();
    let client = hyper_client::<Empty<Bytes>>();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let tag = format!("{t}-{i}");
                let uri: hyper::Uri = format!("http://{addr}/echo/{tag}").parse().unwrap();
                let resp = client.get(uri).await.expect("GET /echo");
                assert_eq!(resp.status(), 200);
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(
                    body,
                    tag.as_bytes(),
                    "responses crossed between connections"
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    drop(client);
    stop_async(server).await;
}

#[tokio::test]
async fn hyper_sees_404_and_405() {
    let server = start(echo_app());
    let client = hyper_client::<Empty<Bytes>>();
    let uri: hyper::Uri = format!("http://{}/missing", server.addr()).parse().unwrap();
    assert_eq!(client.get(uri).await.unwrap().status(), 404);
    let req = hyper::Request::delete(format!("http://{}/text", server.addr()))
        .body(Empty::new())
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 405);
    assert!(resp.headers().contains_key("allow"));
    drop(client);
    stop_async(server).await;
}

#[tokio::test]
async fn two_workers_serve_concurrent_connections() {
    let server = start_with(echo_app(), config().workers(2));
    let addr = server.addr();
    let client = hyper_client::<Empty<Bytes>>();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let uri: hyper::Uri = format!("http://{addr}/echo/w{t}-{i}").parse().unwrap();
                let body = client
                    .get(uri)
                    .await
                    .expect("GET")
                    .into_body()
                    .collect()
                    .await
                    .unwrap();
                assert_eq!(body.to_bytes(), format!("w{t}-{i}").as_bytes());
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    drop(client);
    stop_async(server).await;
}
