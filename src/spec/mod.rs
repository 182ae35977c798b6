//! The spec language: types, load (YAML with positions), render, validate, project file.
