//! `embed_migrations!` reads the migrations directory at compile time; without this, a new
//! migration is left out of incremental builds.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
