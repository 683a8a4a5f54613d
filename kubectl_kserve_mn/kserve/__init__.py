"""KServe's multi-node rules as pure functions: eras (per-version facts), admission webhooks,
runtime selection and merge, and the controller's GPU arithmetic."""
