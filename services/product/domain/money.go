package domain

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Money is an exact amount: minor units (cents) of a currency. Prices never
// pass through a float: they are parsed from the JSON number's text and
// written back as text.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"` // ISO 4217, e.g. "INR"
}

// maxMinor bounds an amount (10^15 minor units), far inside int64, so sums
// of a few prices cannot overflow.
const maxMinor = 1_000_000_000_000_000

// exponents are the ISO 4217 currencies whose minor unit is not 1/100.
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// Exponent is how many decimals currency's amounts have.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

var (
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	amountPattern   = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.([0-9]+))?$`)
)

// Errors of ParseMoney.
var (
	ErrCurrency = errors.New("currency must be 3 capital letters (ISO 4217)")
	ErrAmount   = errors.New("amount must be a non-negative decimal number")
)

// ParseMoney reads amount (a JSON number's text, e.g. "19.99") in currency,
// exactly. More decimals than the currency has are refused (no rounding),
// except trailing zeros; exponents ("1e3") and negatives are refused.
func ParseMoney(amount, currency string) (Money, error) {
	if !currencyPattern.MatchString(currency) {
		return Money{}, ErrCurrency
	}
	m := amountPattern.FindStringSubmatch(amount)
	if m == nil {
		return Money{}, ErrAmount
	}
	exp := Exponent(currency)
	whole, frac := m[1], strings.TrimRight(m[3], "0")
	if len(frac) > exp {
		return Money{}, fmt.Errorf("%w: %s has %d decimals", ErrAmount, currency, exp)
	}
	if len(whole) > 16 {
		return Money{}, fmt.Errorf("%w: too large", ErrAmount)
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	minor, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || minor > maxMinor {
		return Money{}, fmt.Errorf("%w: too large", ErrAmount)
	}
	return Money{Minor: minor, Currency: currency}, nil
}

// Amount is m's amount as decimal text with the currency's decimals
// ("19.90", "1500" for yen).
func (m Money) Amount() string {
	exp := Exponent(m.Currency)
	s := strconv.FormatInt(m.Minor, 10)
	if exp == 0 {
		return s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return s[:len(s)-exp] + "." + s[len(s)-exp:]
}
