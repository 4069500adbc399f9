// A pattern that does not start with `/`.
use armature_core::{route, App};

fn main() {
    let _app = App::new().get(route!("users/:id"), || async { "ok" });
}
