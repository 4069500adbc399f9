//! Crate-internal macros shared by the configuration builders.

/// Builder setters (`fn name(self, v) -> Self`) and getters (`fn get_name(&self)`) for
/// plain `Copy` fields of a configuration struct.
macro_rules! config_setters {
    ($ty:ty; $( $(#[$doc:meta])* $name:ident / $getter:ident : $fty:ty ),+ $(,)?) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $fty) -> Self {
                    self.$name = value;
                    self
                }

                #[doc = concat!("The configured `", stringify!($name), "`.")]
                pub fn $getter(&self) -> $fty {
                    self.$name
                }
            )+
        }
    };
}
