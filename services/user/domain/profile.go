// Package domain is the user service's model: a Profile and its addresses,
// one aggregate, with the rules that keep it whole (field limits, at most
// MaxAddresses, exactly one default address). Plain Go: no HTTP, no Dapr.
package domain

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
)

// MaxAddresses is how many addresses one user may keep.
const MaxAddresses = 20

// Errors the rules give.
var (
	ErrTooManyAddresses = errors.New("address limit reached")
	ErrAddressNotFound  = errors.New("address not found")
)

// Profile is one user's profile. Its ID is the user's id at auth (one
// profile per account); the addresses live inside it, so that one versioned
// write changes the profile and its addresses together.
type Profile struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"` // normalized (validation.NormalizeEmail)
	Phone     string    `json:"phone"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Addresses, oldest first.
	Addresses []Address `json:"addresses"`
}

// Details are the fields a client sets on a profile.
type Details struct {
	Name, Email, Phone string
}

var phonePattern = regexp.MustCompile(`^[0-9+()\- ]{7,20}$`)

// Check normalizes d (trimmed name and phone, normalized email) and reports
// what is wrong with it, with the original service's messages.
func (d *Details) Check() error {
	d.Name, d.Phone = strings.TrimSpace(d.Name), strings.TrimSpace(d.Phone)
	d.Email = validation.NormalizeEmail(d.Email)
	errs := validation.Errors{}
	errs.Text("name", d.Name, 120)
	if d.Email == "" {
		errs.Add("email", "email is required")
	} else if !validation.Email(d.Email) {
		errs.Add("email", "email must be valid")
	}
	if d.Phone == "" {
		errs.Add("phone", "phone is required")
	}
	errs.Match("phone", d.Phone, phonePattern, "phone must be a valid number")
	return errs.Err()
}

// Apply sets d on p at now.
func (p *Profile) Apply(d Details, now time.Time) {
	p.Name, p.Email, p.Phone, p.UpdatedAt = d.Name, d.Email, d.Phone, now
}

// Address is one postal address of a user.
type Address struct {
	ID        string    `json:"id"`
	Street    string    `json:"street"`
	City      string    `json:"city"`
	State     string    `json:"state"`
	Pincode   string    `json:"pincode"`
	Country   string    `json:"country"`
	IsDefault bool      `json:"isDefault"`
	CreatedAt time.Time `json:"createdAt"`
}

// AddressFields are what a client sets on an address. IsDefault is nil when
// the client left it out.
type AddressFields struct {
	Street, City, State, Pincode, Country string
	IsDefault                             *bool
}

// Check trims f and reports what is wrong with it; an update must say
// whether the address is the default.
func (f *AddressFields) Check(update bool) error {
	for _, v := range []*string{&f.Street, &f.City, &f.State, &f.Pincode, &f.Country} {
		*v = strings.TrimSpace(*v)
	}
	errs := validation.Errors{}
	errs.Text("street", f.Street, 255)
	errs.Text("city", f.City, 120)
	errs.Text("state", f.State, 120)
	errs.Text("pincode", f.Pincode, 20)
	errs.Text("country", f.Country, 120)
	if update && f.IsDefault == nil {
		errs.Add("isDefault", "isDefault is required")
	}
	return errs.Err()
}

func (f AddressFields) wantsDefault() bool { return f.IsDefault != nil && *f.IsDefault }

// AddAddress adds an address with id at now. The first address is the
// default, and so is one asked to be (the others stop being it).
func (p *Profile) AddAddress(id string, f AddressFields, now time.Time) (Address, error) {
	if len(p.Addresses) >= MaxAddresses {
		return Address{}, ErrTooManyAddresses
	}
	a := Address{ID: id, Street: f.Street, City: f.City, State: f.State, Pincode: f.Pincode, Country: f.Country, CreatedAt: now}
	p.Addresses = append(p.Addresses, a)
	if f.wantsDefault() || len(p.Addresses) == 1 {
		p.makeDefault(len(p.Addresses) - 1)
	}
	p.UpdatedAt = now
	return p.Addresses[len(p.Addresses)-1], nil
}

// ReplaceAddress sets every field of address id. Asking for the default
// makes it the only one; giving the default up passes it to the oldest
// other address, so there is always exactly one (a sole address stays it).
func (p *Profile) ReplaceAddress(id string, f AddressFields, now time.Time) (Address, error) {
	i := p.addressIndex(id)
	if i < 0 {
		return Address{}, ErrAddressNotFound
	}
	a := &p.Addresses[i]
	a.Street, a.City, a.State, a.Pincode, a.Country = f.Street, f.City, f.State, f.Pincode, f.Country
	switch {
	case f.wantsDefault():
		p.makeDefault(i)
	case a.IsDefault && len(p.Addresses) > 1:
		p.makeDefault(p.oldestOtherThan(i))
	}
	p.UpdatedAt = now
	return p.Addresses[i], nil
}

// RemoveAddress deletes address id; if it was the default, the oldest
// remaining address becomes the default.
func (p *Profile) RemoveAddress(id string, now time.Time) error {
	i := p.addressIndex(id)
	if i < 0 {
		return ErrAddressNotFound
	}
	wasDefault := p.Addresses[i].IsDefault
	p.Addresses = slices.Delete(p.Addresses, i, i+1)
	if wasDefault && len(p.Addresses) > 0 {
		p.makeDefault(0)
	}
	p.UpdatedAt = now
	return nil
}

// Address finds address id.
func (p *Profile) Address(id string) (Address, bool) {
	i := p.addressIndex(id)
	if i < 0 {
		return Address{}, false
	}
	return p.Addresses[i], true
}

func (p *Profile) addressIndex(id string) int {
	return slices.IndexFunc(p.Addresses, func(a Address) bool { return a.ID == id })
}

func (p *Profile) makeDefault(i int) {
	for j := range p.Addresses {
		p.Addresses[j].IsDefault = j == i
	}
}

// oldestOtherThan is the index of the oldest address that is not i
// (addresses are kept oldest first).
func (p *Profile) oldestOtherThan(i int) int {
	if i == 0 {
		return 1
	}
	return 0
}
