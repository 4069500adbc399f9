//! The upgrade hand-off: what a `101` response carries ([`OnUpgrade`]) and the
//! connection it is given once the head is written ([`Upgraded`]), below any
//! protocol that upgrades (hyper's `upgrade.rs`). The WebSocket makes and runs it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use bytes::Bytes;

use crate::rt::drain::Draining;
use crate::rt::io::Io;

/// What a `101` response runs once written (see [`Body::Upgrade`](super::Body::Upgrade)); made by
/// [`WebSocketUpgrade::on_upgrade`](crate::ws::WebSocketUpgrade::on_upgrade).
pub struct OnUpgrade(pub(crate) UpgradeFn);

/// The connection's task after the `101`, not yet started.
pub(crate) type UpgradeFn = Box<dyn FnOnce(Upgraded) -> Pin<Box<dyn Future<Output = ()>>>>;

impl fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnUpgrade")
    }
}

/// The connection as it leaves HTTP.
pub(crate) struct Upgraded {
    pub io: Box<dyn Io>,
    /// Bytes read past the request head (the client's first frames).
    pub read_ahead: Bytes,
    pub draining: Rc<Draining>,
    pub drain_timeout: std::time::Duration,
}
