"""Optional helpers for frameworks and engines, each imported only when used."""
