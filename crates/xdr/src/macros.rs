// SPDX-License-Identifier: LGPL-2.1-or-later
//! `xdr_struct!`: declare a struct and its XDR codec in one place.
//!
//! ```
//! xdr::xdr_struct! {
//!     /// A name and a bounded list.
//!     pub struct Example {
//!         #[max = 64] pub name: String,
//!         pub id: i32,
//!     }
//! }
//! let v = Example { name: "a".into(), id: 3 };
//! assert_eq!(xdr::from_bytes::<Example>(&xdr::to_bytes(&v)).unwrap(), v);
//! ```
//!
//! Fields are encoded in declaration order. `#[max = N]` bounds a string,
//! opaque or array field; decoding rejects longer input before allocating.

#[macro_export]
macro_rules! xdr_struct {
    ($(
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            $( $(#[max = $max:expr])? pub $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $( pub $field: $ty, )*
        }

        impl $crate::Xdr for $name {
            const MIN_SIZE: usize = 0 $( + <$ty as $crate::Xdr>::MIN_SIZE )*;

            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                $( $crate::Xdr::encode(&self.$field, out); )*
            }

            #[allow(unused_variables)]
            fn decode(d: &mut $crate::Decoder<'_>) -> Result<Self, $crate::XdrError> {
                Ok($name {
                    $( $field: $crate::xdr_struct!(@field d, $ty $(, $max)?), )*
                })
            }
        }
    )*};
    (@field $d:ident, $ty:ty) => { <$ty as $crate::Xdr>::decode($d)? };
    (@field $d:ident, $ty:ty, $max:expr) => { <$ty as $crate::Xdr>::decode_bounded($d, ($max) as usize)? };
}
