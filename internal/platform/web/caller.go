package web

// Caller headers carry the caller the gateway verified to a service. Only
// the gateway sets them (it drops any copy a client sends), and only the
// gateway's sidecar may call a service, so a service can trust them.
const (
	HeaderUserID    = "X-User-Id"
	HeaderUserRole  = "X-User-Role"
	HeaderUserEmail = "X-User-Email"
	HeaderSessionID = "X-Session-Id"
)
