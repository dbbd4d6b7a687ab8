"""Store operations, one module per resource: synchronous functions of an open transaction
(`def op(tx: Tx, ...) -> T`), written once for SQLite and PostgreSQL. Reached through
`await store.call(module.op, ...)`, or through the Store's methods named by intent. See docs/store.md."""
