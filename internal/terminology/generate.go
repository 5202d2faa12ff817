package terminology

//go:generate go run ./gen
