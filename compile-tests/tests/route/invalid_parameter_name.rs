// A parameter name that is not an identifier.
use armature_core::{route, App};

fn main() {
    let _app = App::new().get(route!("/users/:1d"), || async { "ok" });
}
