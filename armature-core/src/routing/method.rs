//! The method argument of `Router::match_route`: a `Method` or its name.

use crate::Method;

/// Something that names a request method for [`Router::match_route`](super::Router::match_route): a [`Method`]
/// or its wire name (`"GET"`; an unknown name matches no route).
pub trait RouteMethod: sealed::Sealed {
    /// The method, or `None` for a name that is not one.
    fn route_method(&self) -> Option<Method>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Method {}
    impl Sealed for &str {}
    impl Sealed for String {}
    impl Sealed for &String {}
}

impl RouteMethod for Method {
    #[inline]
    fn route_method(&self) -> Option<Method> {
        Some(*self)
    }
}

impl RouteMethod for &str {
    #[inline]
    fn route_method(&self) -> Option<Method> {
        Method::from_bytes(self.as_bytes())
    }
}

impl RouteMethod for String {
    #[inline]
    fn route_method(&self) -> Option<Method> {
        Method::from_bytes(self.as_bytes())
    }
}

impl RouteMethod for &String {
    #[inline]
    fn route_method(&self) -> Option<Method> {
        Method::from_bytes(self.as_bytes())
    }
}
