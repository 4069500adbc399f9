// A catch-all before the last segment.
use armature_core::{route, App};

fn main() {
    let _app = App::new().get(route!("/files/*path/raw"), || async { "ok" });
}
