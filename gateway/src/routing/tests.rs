//! Routing, rewrite, redirect and header-rule tests.
