//! Rule files (SPEC §2): YAML with positions, the `Rule` model, loading and checking.

pub mod load;
pub mod model;
pub mod pack;
pub mod yaml;

pub use load::{
    Discovery, Keep, Loaded, LoadedSet, Skipped, SourceFile, discover, load_paths,
    load_paths_keeping, load_paths_with, load_str,
};
pub use model::*;
