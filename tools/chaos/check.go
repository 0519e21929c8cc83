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
// broke a promise: an acknowledged registration that cannot log in, a
// logged-out session whose token a gateway replica still accepts, a
// profile or address that is gone or not the last value acknowledged, an
// acknowledged product or variant that is gone, an acknowledged
// reservation missing or in a state it cannot have reached, stock whose
// books do not balance, and any answer outside the contract the workload
// saw. gateways are the replicas serving now.
func (w *workload) check(ctx context.Context, gateways []string) []string {
	var v []string
	// A long run outlives the admin's access token (15 min): log in again.
	a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": adminEmail, "password": adminPassword})
	var pair struct{ AccessToken string }
	if !a.ok() || a.decode(&pair) != nil {
		return []string{fmt.Sprintf("the admin cannot log in to check: %d %.100s %v", a.status, a.body, a.err)}
	}
	w.admin = pair.AccessToken
	w.mu.Lock()
	users, products, variants := slices.Clone(w.users), slices.Clone(w.products), slices.Clone(w.variants)
	v = append(v, w.unclean...)
	w.mu.Unlock()

	v = append(v, w.checkAccounts(ctx, users, gateways)...)
	for _, id := range products {
		if a := w.c.call(ctx, http.MethodGet, "/api/v1/products/"+id, w.admin, nil); !a.ok() {
			v = append(v, fmt.Sprintf("acknowledged product %s is gone: %d %.100s %v", id, a.status, a.body, a.err))
		}
	}
	skusOf := map[string][]string{}
	for _, p := range products {
		if slices.ContainsFunc(variants, func(x variant) bool { return x.product == p }) {
			a := w.c.call(ctx, http.MethodGet, "/api/v1/products/"+p+"/variants", w.admin, nil)
			var list []struct{ SKU string }
			if !a.ok() || a.decode(&list) != nil {
				v = append(v, fmt.Sprintf("variants of %s unreadable: %d %.100s %v", p, a.status, a.body, a.err))
				continue
			}
			for _, x := range list {
				skusOf[p] = append(skusOf[p], strings.ToUpper(x.SKU))
			}
		}
	}
	for _, x := range variants {
		if !slices.Contains(skusOf[x.product], strings.ToUpper(x.sku)) {
			v = append(v, fmt.Sprintf("acknowledged variant %s of product %s is gone", x.sku, x.product))
		}
	}
	return append(v, w.checkStockSettled(ctx)...)
}

// checkStockSettled is checkStock once the units replicas allotted ahead
// have gone back: a live replica's within seconds of idling, a killed
// one's once its lease lapsed (ALLOTMENT_LEASE_TIMEOUT) and a sweep took
// them; until then a record's reserved count includes them. A generous
// deadline, then what is still wrong is a violation.
func (w *workload) checkStockSettled(ctx context.Context) []string {
	deadline := time.Now().Add(45 * time.Second)
	for {
		v := w.checkStock(ctx)
		if len(v) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return v
		}
		time.Sleep(time.Second)
	}
}

// checkAccounts checks what users were told: each can log in, each
// logged-out session is refused at every gateway replica, each profile
// holds a name it may hold, each acknowledged address is there.
func (w *workload) checkAccounts(ctx context.Context, users []*user, gateways []string) []string {
	var v, pending []string
	for _, u := range users {
		u.Lock()
		a := w.c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": u.email, "password": u.password})
		if !a.ok() {
			v = append(v, fmt.Sprintf("acknowledged registration %s cannot log in: %d %.100s %v", u.email, a.status, a.body, a.err))
		}
		pending = append(pending, u.loggedOut...)
		if u.profile.created || len(u.profile.names) > 0 {
			a := w.c.call(ctx, http.MethodGet, "/api/v1/users/"+u.id, w.admin, nil)
			var p struct{ Name string }
			switch {
			case a.status == http.StatusNotFound && !u.profile.created:
				// only a create whose answer was lost: it may not have happened
			case !a.ok() || a.decode(&p) != nil:
				v = append(v, fmt.Sprintf("profile of %s unreadable: %d %.100s %v", u.email, a.status, a.body, a.err))
			case len(u.profile.names) > 0 && !slices.Contains(u.profile.names, p.Name):
				v = append(v, fmt.Sprintf("profile of %s holds %q, not the last acknowledged name (or a later one): %q", u.email, p.Name, u.profile.names))
			}
		}
		if len(u.addresses) > 0 {
			a := w.c.call(ctx, http.MethodGet, "/api/v1/users/"+u.id+"/addresses", w.admin, nil)
			var list []struct{ ID string }
			if !a.ok() || a.decode(&list) != nil {
				v = append(v, fmt.Sprintf("addresses of %s unreadable: %d %.100s %v", u.email, a.status, a.body, a.err))
			}
			for _, id := range u.addresses {
				if !slices.ContainsFunc(list, func(x struct{ ID string }) bool { return x.ID == id }) {
					v = append(v, fmt.Sprintf("acknowledged address %s of %s is gone", id, u.email))
				}
			}
		}
		u.Unlock()
	}
	// A revocation reaches a replica by event within about a second, or by
	// its read-back within REVOCATION_SYNC_INTERVAL (15 s) when the event
	// was lost; a generous deadline, then every token still accepted
	// anywhere is a violation.
	deadline := time.Now().Add(45 * time.Second)
	for {
		var still []string
		for _, token := range pending {
			for _, g := range gateways {
				if a := w.c.callAt(ctx, g, http.MethodGet, "/api/v1/auth/me", token, nil); a.status != http.StatusUnauthorized {
					still = append(still, fmt.Sprintf("a logged-out session's token is answered %d at gateway %s (%v)", a.status, g, a.err))
				}
			}
		}
		if len(still) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return append(v, still...)
		}
		time.Sleep(time.Second)
	}
}

// checkStock reads every reservation any order made, acknowledged or not
// (the books count them all), checks each acknowledged one is in a state
// it may have reached, and balances every product's books.
func (w *workload) checkStock(ctx context.Context) []string {
	var v []string
	w.mu.Lock()
	reservations, orders := slices.Clone(w.reservations), slices.Clone(w.orders)
	w.mu.Unlock()
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
	w.mu.Lock()
	for _, r := range reservations {
		got, ok := all[r.id]
		legal := map[string][]string{"RESERVED": {"RESERVED", "EXPIRED"}, "RELEASED": {"RELEASED"}, "DEDUCTED": {"DEDUCTED"}}[r.status]
		if r.releaseAsked {
			legal = append(legal, "RELEASED") // its answer may have been lost
		}
		if r.deductAsked {
			legal = append(legal, "DEDUCTED")
		}
		switch {
		case !ok:
			v = append(v, fmt.Sprintf("acknowledged reservation %s (%v) is gone", r.id, r.items))
		case !slices.Contains(legal, got.Status):
			v = append(v, fmt.Sprintf("reservation %s was acknowledged %s and is now %s", r.id, r.status, got.Status))
		}
	}
	w.mu.Unlock()
	reserved, committed := map[string]int64{}, map[string]int64{}
	for _, r := range all {
		for _, item := range r.Items {
			switch r.Status {
			case "RESERVED":
				reserved[item.ProductID] += item.Quantity
			case "DEDUCTED":
				committed[item.ProductID] += item.Quantity
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
		if stock.CommittedQuantity != committed[sku] {
			v = append(v, fmt.Sprintf("stock %s: committed %d, but its deducted reservations hold %d", sku, stock.CommittedQuantity, committed[sku]))
		}
	}
	return v
}

// failedBetween is how many calls failed from from until to, of how many,
// as a percentage too.
func (w *workload) failedBetween(from, to time.Time) string {
	failed, total := 0, 0
	for _, c := range w.calls {
		if !c.at.Before(from) && c.at.Before(to) {
			total++
			if c.failed {
				failed++
			}
		}
	}
	if total == 0 {
		return "no calls"
	}
	return fmt.Sprintf("%d of %d (%.0f %%)", failed, total, 100*float64(failed)/float64(total))
}

// report is the run in Markdown: the seed, what the workload did, each
// fault with its recovery and the error rate while it lasted, and the
// violations.
func (w *workload) report(seed uint64, planned time.Duration, start time.Time, faults []fault, violations []string) string {
	// A user's lock is taken before the workload's (as the workers do).
	w.mu.Lock()
	users := slices.Clone(w.users)
	w.mu.Unlock()
	logouts, profiles, addresses := 0, 0, 0
	for _, u := range users {
		u.Lock()
		logouts += len(u.loggedOut)
		addresses += len(u.addresses)
		if u.profile.created {
			profiles++
		}
		u.Unlock()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# Chaos run\n\nSeed %d, %s planned (%s with the checks), %s UTC. Command: `go run ./tools/chaos -seed %d -duration %s`.\n\n",
		seed, planned, time.Since(start).Round(time.Second), time.Now().UTC().Format("2006-01-02 15:04"), seed, planned)
	settled := map[string]int{}
	for _, r := range w.reservations {
		settled[r.status]++
	}
	fmt.Fprintf(&b, "Acknowledged: %d registrations, %d logouts, %d profiles, %d addresses, %d products, %d variants, %d reservations (%d orders asked; %d released, %d deducted).\n\n",
		len(w.users), logouts, profiles, addresses, len(w.products), len(w.variants), len(w.reservations), len(w.orders), settled["RELEASED"], settled["DEDUCTED"])
	b.WriteString("| operation and answer | count |\n|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(w.outcomes)) {
		fmt.Fprintf(&b, "| %s | %d |\n", k, w.outcomes[k])
	}
	b.WriteString("\n## Faults\n\nCalls the platform failed (no answer, or a 5xx; a 4xx is a refusal, not a failure) from the fault's start until it was over and the gateway reported every service healthy again, and until the next fault.\n\n")
	b.WriteString("| at | fault | healthy again after | failed until then | failed until the next fault |\n|---|---|---|---|---|\n")
	for _, f := range faults {
		recovered := "not within the window"
		if f.recovered < 0 {
			recovered = "the run ended first"
		}
		if f.recovered > 0 {
			recovered = f.recovered.Round(100 * time.Millisecond).String()
		}
		if f.err != nil {
			recovered = "injection failed: " + f.err.Error()
		}
		begin := start.Add(f.at)
		during := "—"
		if f.recovered > 0 {
			during = w.failedBetween(begin, begin.Add(f.recovered))
		}
		fmt.Fprintf(&b, "| %.1f s | %s | %s | %s | %s |\n", f.at.Seconds(), f.what, recovered, during, w.failedBetween(begin, begin.Add(f.window)))
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
