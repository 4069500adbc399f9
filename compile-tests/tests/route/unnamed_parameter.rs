// A parameter without a name.
use armature_core::{route, App};

fn main() {
    let _app = App::new().get(route!("/users/:"), || async { "ok" });
}
