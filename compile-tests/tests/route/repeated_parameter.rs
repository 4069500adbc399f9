// Two parameters with one name.
use armature_core::{route, App};

fn main() {
    let _app = App::new().get(route!("/users/:id/posts/{id}"), || async { "ok" });
}
