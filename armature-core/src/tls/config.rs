//! `TlsConfig`: the certificate (reloadable), the handshake timeout, and what is
//! told of failed handshakes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::certs::Certs;
use crate::error::Error;

/// What the server answers TLS with: the certificate and key, reloaded without a
/// restart, the handshake timeout, and what is told of failed handshakes. Given to
/// [`ServerConfig::tls`](crate::ServerConfig::tls); clones share the certificate
/// (a reload through one is seen by all).
///
/// ```
/// use armature_core::tls::TlsConfig;
/// use std::time::Duration;
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/certs");
/// let tls = TlsConfig::from_pem_files(format!("{dir}/a.pem"), format!("{dir}/a.key"))
///     .unwrap()
///     .handshake_timeout(Duration::from_secs(5))
///     .poll_interval(Some(Duration::from_secs(60)));
/// assert_eq!(tls.get_handshake_timeout(), Duration::from_secs(5));
///
/// let err = TlsConfig::from_pem_files(format!("{dir}/a.pem"), format!("{dir}/b.key"))
///     .unwrap_err();
/// assert!(err.is_tls());
/// assert!(err.to_string().contains("does not belong to the certificate"), "{err}");
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    pub(super) certs: Arc<Certs>,
    /// Built once: its certificate resolver is `certs`, so a reload needs no new one.
    pub(super) server: Arc<rustls::ServerConfig>,
    pub(super) handshake_timeout: Duration,
    pub(super) poll_interval: Option<Duration>,
    on_handshake_error: Option<OnError>,
}

/// What [`TlsConfig::on_handshake_error`] keeps.
type OnError = Arc<dyn Fn(&Error) + Send + Sync>;

impl TlsConfig {
    /// The certificate chain in `cert` (PEM: the server's certificate first, then
    /// its intermediates) and the private key in `key` (PEM: PKCS#8, PKCS#1 RSA or
    /// SEC1 EC). Fails, with an error that names the file, when a file cannot be
    /// read, holds no certificate or key, or the key does not belong to the
    /// certificate.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, Error> {
        // rustls 0.23.48 deprecates the ring provider for what it lacks: post-quantum
        // key exchange (X25519MLKEM768), which only its aws-lc-rs provider has. ring
        // is chosen for the build (no cmake, no bundled C library of its size); the
        // classical groups (X25519, P-256, P-384) are what every client offers too.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = Arc::new(Certs::load(
            cert.as_ref().to_owned(),
            key.as_ref().to_owned(),
            provider.clone(),
        )?);
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::tls("cannot set up rustls", Some(Box::new(e))))?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            certs,
            server: Arc::new(server),
            handshake_timeout: Duration::from_secs(10),
            poll_interval: Some(Duration::from_secs(10)),
            on_handshake_error: None,
        })
    }

    /// The time a client has, from the moment it connects, to complete the
    /// handshake; then the connection is closed (reported to
    /// [`on_handshake_error`](Self::on_handshake_error)). Default 10 s.
    pub fn handshake_timeout(mut self, value: Duration) -> Self {
        self.handshake_timeout = value;
        self
    }

    /// See [`handshake_timeout`](Self::handshake_timeout).
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// How often the server checks whether the certificate or key file changed
    /// (their inode, size and modification time; one `stat` each), and reloads
    /// them when one did. `None`: only on `SIGHUP` and [`reload`](Self::reload).
    /// Default 10 s.
    pub fn poll_interval(mut self, value: Option<Duration>) -> Self {
        self.poll_interval = value;
        self
    }

    /// See [`poll_interval`](Self::poll_interval).
    pub fn get_poll_interval(&self) -> Option<Duration> {
        self.poll_interval
    }

    /// Called with each failed handshake (an error for which
    /// [`is_tls`](Error::is_tls) holds: the peer's protocol error, no common
    /// protocol version or ALPN protocol, a timeout, a reset) on the worker that
    /// ran it; keep it short. To count them, for instance. Scanners and plain HTTP
    /// sent to the TLS port make these on any public server.
    pub fn on_handshake_error(mut self, f: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.on_handshake_error = Some(Arc::new(f));
        self
    }

    /// Reads the certificate and key files again now; new handshakes use them once
    /// this returns `Ok`. On an error (which names the file) the previous pair stays
    /// in use. Blocking file reads: from async code, call it on the blocking pool.
    pub fn reload(&self) -> Result<(), Error> {
        self.certs.reload()
    }

    /// The certificate chain served now, DER-encoded, the server's own first.
    pub fn certificate_chain(&self) -> Vec<rustls::pki_types::CertificateDer<'static>> {
        self.certs.chain()
    }

    /// Tells of a failed handshake.
    pub(super) fn report(&self, e: Error) {
        tracing::debug!(target: "armature::tls", "{e}");
        if let Some(f) = &self.on_handshake_error {
            f(&e);
        }
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("certs", &self.certs)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("on_handshake_error", &self.on_handshake_error.is_some())
            .finish()
    }
}
