// Package domain holds the auth service's rules as plain Go: who a user is,
// what a good password is and how it is stored, how tokens are signed and
// published, and how a login's session (its refresh-token family) rotates
// and dies. No HTTP and no Dapr here; the api and store packages adapt it.
package domain
