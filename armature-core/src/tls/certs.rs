//! `Certs`: the certificate chain and key a server presents, loaded from PEM files
//! and replaced in place by a reload; rustls asks it for the current pair at each
//! handshake (a connection keeps the pair its handshake used).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::Error;

/// The served certificate and key, and the files they come from.
pub(crate) struct Certs {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files as they were at the last load attempt (good or bad): a file
    /// reloads when this changes, and a bad file is reported once, not at every
    /// check.
    seen: Mutex<[Option<Stamp>; 2]>,
}

/// What says a file changed: its identity (a replaced file, an atomic rename, a
/// Kubernetes secret's symlink swap give a new inode), size and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    /// `None` when the file cannot be read now (missing while being replaced).
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        })
    }
}

impl Certs {
    /// Loads the pair; an error names the file and what is wrong with it.
    pub(crate) fn load(
        cert_path: PathBuf,
        key_path: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<Certs, Error> {
        let seen = [Stamp::of(&cert_path), Stamp::of(&key_path)];
        let key = read_pair(&cert_path, &key_path, &provider)?;
        Ok(Certs {
            cert_path,
            key_path,
            provider,
            current: RwLock::new(Arc::new(key)),
            seen: Mutex::new(seen),
        })
    }

    pub(crate) fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// Reads both files again and, when they hold a valid pair, serves it from the
    /// next handshake on; otherwise keeps the current pair and returns why.
    pub(crate) fn reload(&self) -> Result<(), Error> {
        // Before reading: a file replaced while it is read is seen as changed at the
        // next check (after, such a change would be missed).
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) =
            [Stamp::of(&self.cert_path), Stamp::of(&self.key_path)];
        let key = read_pair(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }

    /// Whether either file changed since the last load attempt.
    pub(crate) fn changed(&self) -> bool {
        let now = [Stamp::of(&self.cert_path), Stamp::of(&self.key_path)];
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) != now
    }

    /// The chain served now (its first certificate is the server's own).
    pub(crate) fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.current().cert.clone()
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certs")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

/// The chain in `cert_path` and the key in `key_path`, checked to belong together.
fn read_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, Error> {
    let chain = read_chain(cert_path)?;
    let key = read_key(key_path)?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => Error::tls(
            format!(
                "the private key in {} does not belong to the certificate in {}",
                key_path.display(),
                cert_path.display()
            ),
            Some(Box::new(e)),
        ),
        e => Error::tls(
            format!(
                "cannot use the private key in {} with the certificate in {}",
                key_path.display(),
                cert_path.display()
            ),
            Some(Box::new(e)),
        ),
    })
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        Error::tls(
            format!("cannot read the {what} file {}", path.display()),
            Some(Box::new(e)),
        )
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read_file(path, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::tls(
                format!("{} is not a valid PEM certificate chain", path.display()),
                Some(Box::new(e)),
            )
        })?;
    if chain.is_empty() {
        return Err(Error::tls(
            format!(
                "no certificate (-----BEGIN CERTIFICATE-----) in {}",
                path.display()
            ),
            None,
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = read_file(path, "private key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        pem::Error::NoItemsFound => Error::tls(
            format!(
                "no private key (-----BEGIN PRIVATE KEY-----, or its RSA or EC form) in {}",
                path.display()
            ),
            None,
        ),
        e => Error::tls(
            format!("{} is not a valid PEM private key", path.display()),
            Some(Box::new(e)),
        ),
    })
}
