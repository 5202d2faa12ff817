package fhirpath

import (
	"math"
	"math/big"
	"strconv"
)

// Math functions, http://hl7.org/fhirpath/N1/#math. Each takes a single
// Integer or Decimal (abs also a Quantity); results that are not real
// numbers are empty.
var mathFunctions = map[string]fnDef{
	"abs": {0, 0, numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		switch k {
		case kindInt:
			if x := v.(int64); x < 0 {
				return []Item{sysItem(-x)}, nil
			}
			return []Item{sysItem(v)}, nil
		case kindDec:
			d := v.(decimal)
			return []Item{sysItem(decimal{r: new(big.Rat).Abs(d.r), scale: d.scale})}, nil
		}
		q := v.(quantity)
		return []Item{sysItem(quantity{v: decimal{r: new(big.Rat).Abs(q.v.r), scale: q.v.scale}, unit: q.unit})}, nil
	}), false},
	"ceiling": {0, 0, numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		d := asDec(v, k)
		f := d.floorInt()
		if !d.r.IsInt() {
			f.Add(f, big.NewInt(1))
		}
		return intResult(f), nil
	}), false},
	"floor": {0, 0, numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		return intResult(asDec(v, k).floorInt()), nil
	}), false},
	"truncate": {0, 0, numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		return intResult(asDec(v, k).truncInt()), nil
	}), false},
	"exp":  {0, 0, floatFn(math.Exp), false},
	"ln":   {0, 0, floatFn(math.Log), false},
	"sqrt": {0, 0, floatFn(math.Sqrt), false},
	"log": {1, 1, numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		b, ok, err := c.numArg(n, 0)
		if !ok {
			return nil, err
		}
		return floatResult(math.Log(asDec(v, k).float()) / math.Log(b.float())), nil
	}), false},
	"power": {1, 1, numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		it, ok, err := c.singleArg(n, 0)
		if !ok {
			return nil, err
		}
		ev, ek := sysValue(it)
		if ek != kindInt && ek != kindDec {
			return nil, evalErr("power() needs a number")
		}
		if k == kindInt && ek == kindInt && ev.(int64) >= 0 && ev.(int64) <= 64 {
			r := new(big.Int).Exp(big.NewInt(v.(int64)), big.NewInt(ev.(int64)), nil)
			return intResult(r), nil
		}
		if k == kindInt && ek == kindInt && ev.(int64) > 64 {
			// |base| >= 2 overflows an Integer; 0, 1 and -1 stay small.
			if b := v.(int64); b < -1 || b > 1 {
				return nil, nil
			}
			return intResult(new(big.Int).Exp(big.NewInt(v.(int64)), big.NewInt(ev.(int64)%2+2), nil)), nil
		}
		return floatResult(math.Pow(asDec(v, k).float(), asDec(ev, ek).float())), nil
	}), false},
	"round": {0, 1, numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		p := int64(0)
		if len(n.args) == 1 {
			var ok bool
			var err error
			if p, ok, err = c.intArg(n, 0); !ok {
				return nil, err
			}
			if p < 0 || p > 100 {
				return nil, evalErr("round() precision must be between 0 and 100")
			}
		}
		return []Item{sysItem(asDec(v, k).round(int(p)))}, nil
	}), false},
}

func numFn(f func(c *env, n *callNode, v any, k kind) ([]Item, error)) fnImpl {
	return func(c *env, n *callNode, focus []Item) ([]Item, error) {
		it, ok, err := singleInput(n, focus)
		if !ok {
			return nil, err
		}
		v, k := sysValue(it)
		if k != kindInt && k != kindDec && !(k == kindQty && n.name == "abs") {
			return nil, evalErr("%s() needs a number", n.name)
		}
		return f(c, n, v, k)
	}
}

func floatFn(g func(float64) float64) fnImpl {
	return numFn(func(c *env, n *callNode, v any, k kind) ([]Item, error) {
		return floatResult(g(asDec(v, k).float())), nil
	})
}

func (c *env) numArg(n *callNode, i int) (decimal, bool, error) {
	it, ok, err := c.singleArg(n, i)
	if !ok {
		return decimal{}, false, err
	}
	v, k := sysValue(it)
	if k != kindInt && k != kindDec {
		return decimal{}, false, evalErr("argument of %s() must be a number", n.name)
	}
	return asDec(v, k), true, nil
}

func asDec(v any, k kind) decimal {
	if k == kindInt {
		return decFromInt(v.(int64))
	}
	return v.(decimal)
}

func intResult(b *big.Int) []Item {
	if n, ok := bigToInt64(b); ok {
		return []Item{sysItem(n)}
	}
	return nil
}

// floatResult converts a transcendental result back to a Decimal. Such
// results are inexact anyway, so float64 precision is used and a NaN or
// infinity (ln(-1), sqrt(-1)) becomes empty.
func floatResult(f float64) []Item {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	d, ok := parseDecimal(strconv.FormatFloat(f, 'f', -1, 64))
	if !ok {
		return nil
	}
	return []Item{sysItem(d)}
}
