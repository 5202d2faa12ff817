package search

// SetSortWindow makes the window a sorted page walks (sortWindow,
// sortWindowPer) small, so tests with a few thousand resources reach its
// edge; it returns the function that restores it.
func SetSortWindow(min, per int) (restore func()) {
	m, p := sortWindow, sortWindowPer
	sortWindow, sortWindowPer = min, per
	return func() { sortWindow, sortWindowPer = m, p }
}
