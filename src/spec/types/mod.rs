//! The typed spec: what a validated, rendered spec file says. Every field carries a doc
//! comment, which becomes its description in the generated JSON Schema.

pub mod dotdigital;
pub mod eloqua;
pub mod marketo;
pub mod mypreferences;
pub mod policy;
pub mod source;
pub mod spec;
pub mod target;
pub mod values;

pub use policy::{Guard, Limits, Polling, Retry};
pub use source::{Format, Source};
pub use spec::{MatchCriteria, Mode, Refresh, Spec};
pub use target::{Provider, Target};
pub use values::{HumanDuration, Size};
