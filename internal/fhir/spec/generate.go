package spec

//go:generate go run ./gen
