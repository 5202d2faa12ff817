package validate

// Profiles is a set of StructureDefinitions that constrain resources.
type Profiles struct{}

func (s *semantic) profiles(root map[string]any, rt string) {}
