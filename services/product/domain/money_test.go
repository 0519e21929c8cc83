package domain

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMoneyIsExact(t *testing.T) {
	for _, tt := range []struct {
		amount, currency string
		minor            int64
		text             string
	}{
		{"19.99", "INR", 1999, "19.99"},
		{"0.1", "USD", 10, "0.10"},
		{"0.30", "USD", 30, "0.30"},
		{"0", "EUR", 0, "0.00"},
		{"1500", "JPY", 1500, "1500"},
		{"1500.000", "JPY", 1500, "1500"},
		{"1.234", "KWD", 1234, "1.234"},
		{"9999999999999.99", "USD", 999999999999999, "9999999999999.99"},
	} {
		m, err := ParseMoney(tt.amount, tt.currency)
		require.NoError(t, err, tt.amount)
		assert.Equal(t, tt.minor, m.Minor, tt.amount)
		assert.Equal(t, tt.text, m.Amount(), tt.amount)
	}
	// 0.1 + 0.2 is 0.3 here, as it is not in float64.
	a, _ := ParseMoney("0.1", "USD")
	b, _ := ParseMoney("0.2", "USD")
	assert.Equal(t, "0.30", Money{Minor: a.Minor + b.Minor, Currency: "USD"}.Amount())
}

func TestParseMoneyRefuses(t *testing.T) {
	for _, amount := range []string{"", "-1", "1.999", "1e3", "01", ".5", "5.", "1,5", "NaN", "10000000000000000", "99999999999999999999"} {
		_, err := ParseMoney(amount, "USD")
		assert.ErrorIs(t, err, ErrAmount, amount)
	}
	for _, currency := range []string{"", "usd", "US", "USDX"} {
		_, err := ParseMoney("1", currency)
		assert.ErrorIs(t, err, ErrCurrency, currency)
	}
	_, err := ParseMoney("1.5", "JPY")
	assert.ErrorIs(t, err, ErrAmount, "yen have no decimals")
}

func TestAmountRoundTripsThroughJSON(t *testing.T) {
	// A json.Number keeps the client's digits; Amount writes them back.
	var in struct{ Price json.Number }
	require.NoError(t, json.Unmarshal([]byte(`{"Price": 1234567890123.45}`), &in))
	m, err := ParseMoney(in.Price.String(), "USD")
	require.NoError(t, err)
	out, err := json.Marshal(struct{ Price json.Number }{json.Number(m.Amount())})
	require.NoError(t, err)
	assert.Equal(t, `{"Price":1234567890123.45}`, string(out), "the same digits, not a float's")
}
