//! Malformed route literals fail the build: one file per fault in `route/`,
//! each with the compiler's message beside it (`.stderr`).

#[test]
fn malformed_route_literals_fail_the_build() {
    trybuild::TestCases::new().compile_fail("tests/route/*.rs");
}
