// Package clientip decides which address a request comes from. By default
// it is the TCP peer. Behind trusted proxies it is the right-most address in
// X-Forwarded-For that is not a trusted proxy: the left part of the header is
// whatever the client wrote, so trusting it would let anyone pick their own
// rate-limit key.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"
)

// Resolver holds the trusted proxy ranges.
type Resolver struct {
	trusted []netip.Prefix
}

// New parses comma-separated CIDRs or addresses ("" trusts nobody).
func New(trusted string) (*Resolver, error) {
	r := &Resolver{}
	for _, s := range strings.Split(trusted, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			addr, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			r.trusted = append(r.trusted, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's address given the TCP peer and the
// X-Forwarded-For header.
func (r *Resolver) ClientIP(peer string, xff string) string {
	peerAddr, err := netip.ParseAddr(peer)
	if err != nil || !r.isTrusted(peerAddr) || xff == "" {
		return peer
	}
	hops := strings.Split(xff, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed hop: stop trusting the header there
		}
		if !r.isTrusted(a) {
			return a.Unmap().String()
		}
	}
	return peer
}
