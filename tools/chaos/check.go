package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// check reads the platform back, after the faults, and lists every way it
// broke a promise: an acknowledged registration that cannot log in, an
// acknowledged product that is gone, an acknowledged reservation missing or
// in a state it cannot have reached, stock whose books do not balance, and
// any answer outside the contract the workload saw.
func (w *workload) check(ctx context.Context) []string {
	var v []string
	// A long run outlives the admin's access token (15 min): log in again.
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": adminEmail, "password": adminPassword})
	var pair struct{ AccessToken string }
	if !a.ok() || a.decode(&pair) != nil {
		return []string{fmt.Sprintf("the admin cannot log in to check: %d %.100s %v", a.status, a.body, a.err)}
	}
	w.admin = pair.AccessToken
	w.mu.Lock()
	users, products, reservations, orders := slices.Clone(w.users), slices.Clone(w.products), slices.Clone(w.reservations), slices.Clone(w.orders)
	v = append(v, w.unclean...)
	w.mu.Unlock()

	for _, u := range users {
		a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.email, "password": u.password})
		if !a.ok() {
			v = append(v, fmt.Sprintf("acknowledged registration %s cannot log in: %d %.100s %v", u.email, a.status, a.body, a.err))
		}
	}
	for _, id := range products {
		if a := w.c.call(ctx, http.MethodGet, "/api/v1/products/"+id, w.admin, nil); !a.ok() {
			v = append(v, fmt.Sprintf("acknowledged product %s is gone: %d %.100s %v", id, a.status, a.body, a.err))
		}
	}

	// Every reservation any order made, acknowledged or not: the books
	// count them all.
	type found struct {
		ReservationID string
		Status        string
		Items         []struct {
			ProductID string
			Quantity  int64
		}
	}
	all := map[string]found{}
	for _, order := range orders {
		a := w.c.call(ctx, http.MethodGet, "/api/v1/inventory/reservations?orderId="+url.QueryEscape(order), w.admin, nil)
		var list []found
		if !a.ok() || a.decode(&list) != nil {
			v = append(v, fmt.Sprintf("reservations of order %s unreadable: %d %.100s %v", order, a.status, a.body, a.err))
			continue
		}
		for _, r := range list {
			all[r.ReservationID] = r
		}
	}
	for _, r := range reservations {
		got, ok := all[r.id]
		legal := map[string][]string{"RESERVED": {"RESERVED", "EXPIRED"}, "RELEASED": {"RELEASED"}}[r.status]
		if r.releaseAsked {
			legal = append(legal, "RELEASED") // its answer may have been lost
		}
		switch {
		case !ok:
			v = append(v, fmt.Sprintf("acknowledged reservation %s (%s × %d) is gone", r.id, r.sku, r.qty))
		case !slices.Contains(legal, got.Status):
			v = append(v, fmt.Sprintf("reservation %s was acknowledged %s and is now %s", r.id, r.status, got.Status))
		}
	}
	reserved := map[string]int64{}
	for _, r := range all {
		if r.Status == "RESERVED" {
			for _, item := range r.Items {
				reserved[item.ProductID] += item.Quantity
			}
		}
	}
	for _, sku := range w.skus {
		a := w.c.call(ctx, http.MethodGet, "/api/v1/inventory/"+sku, w.admin, nil)
		var stock struct{ AvailableQuantity, ReservedQuantity, CommittedQuantity int64 }
		if !a.ok() || a.decode(&stock) != nil {
			v = append(v, fmt.Sprintf("stock %s unreadable: %d %.100s %v", sku, a.status, a.body, a.err))
			continue
		}
		if stock.AvailableQuantity < 0 || stock.ReservedQuantity < 0 || stock.CommittedQuantity < 0 {
			v = append(v, fmt.Sprintf("stock %s has a negative count: %+v", sku, stock))
		}
		if onHand := stock.AvailableQuantity + stock.ReservedQuantity + stock.CommittedQuantity; onHand != initialStock {
			v = append(v, fmt.Sprintf("stock %s: on hand %d (available %d + reserved %d + committed %d), not the %d it started with",
				sku, onHand, stock.AvailableQuantity, stock.ReservedQuantity, stock.CommittedQuantity, initialStock))
		}
		if stock.ReservedQuantity != reserved[sku] {
			v = append(v, fmt.Sprintf("stock %s: reserved %d, but its open reservations hold %d", sku, stock.ReservedQuantity, reserved[sku]))
		}
	}
	return v
}

// report is the run in Markdown: the seed, what the workload did, each
// fault with its recovery and the error rate while it lasted, and the
// violations.
func (w *workload) report(seed uint64, planned time.Duration, start time.Time, faults []fault, violations []string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# Chaos run\n\nSeed %d, %s planned (%s with the checks), %s UTC. Command: `go run ./tools/chaos -seed %d -duration %s`.\n\n",
		seed, planned, time.Since(start).Round(time.Second), time.Now().UTC().Format("2006-01-02 15:04"), seed, planned)
	fmt.Fprintf(&b, "Acknowledged: %d registrations, %d products, %d reservations (%d orders asked).\n\n", len(w.users), len(w.products), len(w.reservations), len(w.orders))
	b.WriteString("| operation and answer | count |\n|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(w.outcomes)) {
		fmt.Fprintf(&b, "| %s | %d |\n", k, w.outcomes[k])
	}
	b.WriteString("\n## Faults\n\n| at | fault | healthy again after | calls failed while it lasted |\n|---|---|---|---|\n")
	for _, f := range faults {
		recovered := "not within the window"
		if f.recovered > 0 {
			recovered = f.recovered.Round(100 * time.Millisecond).String()
		}
		if f.err != nil {
			recovered = "injection failed: " + f.err.Error()
		}
		failed, total := 0, 0
		begin := start.Add(f.at)
		for _, c := range w.calls {
			if !c.at.Before(begin) && c.at.Before(begin.Add(f.window)) {
				total++
				if c.failed {
					failed++
				}
			}
		}
		fmt.Fprintf(&b, "| %.1f s | %s | %s | %d of %d |\n", f.at.Seconds(), f.what, recovered, failed, total)
	}
	b.WriteString("\n## Violations\n\n")
	if len(violations) == 0 {
		b.WriteString("None: every acknowledged operation holds, the books balance, every failure was a clean envelope.\n")
	}
	for _, v := range violations {
		fmt.Fprintf(&b, "- %s\n", v)
	}
	return b.String()
}
