pub mod hugepage;
