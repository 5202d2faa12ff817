package synth

// Names are drawn from pools of several origins found across the UK, so
// that matching and search code meets apostrophes, hyphens, spaces and
// short family names, not only Smith and Jones.

var givenFemale = []string{
	"Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Sophie", "Emily",
	"Margaret", "Patricia", "Susan", "Janet", "Doreen", "Eileen", "Joan", "Sandra", "Karen", "Claire",
	"Aisha", "Fatima", "Maryam", "Zainab", "Priya", "Anjali", "Harpreet", "Simran", "Nkechi", "Chiamaka",
	"Abena", "Ama", "Siobhan", "Aoife", "Niamh", "Mairead", "Catrin", "Cerys", "Eilidh", "Morag",
	"Agnieszka", "Katarzyna", "Ioana", "Mei", "Lan", "Thi", "Sofia", "Chloé", "Zoë", "Renée",
}

var givenMale = []string{
	"Oliver", "George", "Noah", "Arthur", "Harry", "Leo", "Jack", "Thomas", "James", "William",
	"David", "John", "Michael", "Peter", "Brian", "Kenneth", "Graham", "Stephen", "Gareth", "Dylan",
	"Mohammed", "Muhammad", "Ali", "Omar", "Yusuf", "Raj", "Arjun", "Gurpreet", "Sanjay", "Vikram",
	"Chukwuemeka", "Oluwaseun", "Kwame", "Kofi", "Tunde", "Seán", "Cian", "Padraig", "Rhys", "Iwan",
	"Hamish", "Callum", "Piotr", "Tomasz", "Andrei", "Wei", "Minh", "Mateo", "José", "Luca",
}

var familyNames = []string{
	"Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
	"Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
	"Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
	"Khan", "Ahmed", "Hussain", "Begum", "Ali", "Shah", "Singh", "Kaur", "Sharma", "Chowdhury",
	"Okafor", "Adeyemi", "Mensah", "Owusu", "Okonkwo", "Campbell", "Francis", "Nguyen", "Chen", "Li",
	"O'Brien", "O'Neill", "Murphy", "Kelly", "McCarthy", "MacDonald", "McLeod", "Fraser", "Llewellyn", "Pritchard",
	"Nowak", "Kowalski", "Wiśniewski", "Popescu", "da Silva", "Papadopoulos", "Rossi", "Yilmaz", "Ng", "Wu",
	"Ffrench", "Le Roux", "Van der Berg", "Fitzgerald", "ap Rhys",
}

var prefixesMale = []string{"Mr"}
var prefixesFemale = []string{"Mrs", "Ms", "Miss"}

// streets and the suffixes they take.
var streetNames = []string{
	"Victoria", "Church", "Station", "Park", "Mill", "Queen's", "King's", "Manor", "Chapel", "Albert",
	"Highfield", "Grange", "Springfield", "Windsor", "Oakwood", "Meadow", "Beech", "Cedar", "Orchard", "Clarence",
}

var streetSuffixes = []string{"Road", "Street", "Lane", "Avenue", "Close", "Drive", "Crescent", "Gardens", "Terrace", "Way"}

// towns with their postcode area and the outward-code districts used. The
// outward code pattern differs by area (A9, A99, AA9, AA99, A9A, AA9A), so
// the district strings are written out whole.
var towns = []struct {
	city, district string
	outward        []string
	// dial is the area code of the Ofcom drama range 0xxx 496 0xxx (or
	// 020 7946 0xxx for London) used for landlines in this town.
	dial string
}{
	{"Leeds", "West Yorkshire", []string{"LS1", "LS6", "LS8", "LS11", "LS17", "LS28"}, "0113 496"},
	{"Manchester", "Greater Manchester", []string{"M1", "M4", "M14", "M20", "M21", "M40"}, "0161 496"},
	{"Birmingham", "West Midlands", []string{"B1", "B5", "B15", "B23", "B29", "B44"}, "0121 496"},
	{"London", "Greater London", []string{"SW1A", "SE15", "E1W", "N1C", "W1D", "NW3", "EC1A", "WC2H", "E17", "SW19"}, "020 7946"},
	{"Sheffield", "South Yorkshire", []string{"S1", "S2", "S10", "S11", "S35"}, "0114 496"},
	{"Bristol", "Bristol", []string{"BS1", "BS3", "BS5", "BS16", "BS34"}, "0117 496"},
	{"Nottingham", "Nottinghamshire", []string{"NG1", "NG5", "NG7", "NG11"}, "0115 496"},
	{"Leicester", "Leicestershire", []string{"LE1", "LE2", "LE4", "LE5"}, "0116 496"},
	{"Newcastle upon Tyne", "Tyne and Wear", []string{"NE1", "NE4", "NE6", "NE15"}, "0191 498"},
	{"Liverpool", "Merseyside", []string{"L1", "L4", "L8", "L17", "L25"}, "0151 496"},
	{"Reading", "Berkshire", []string{"RG1", "RG2", "RG4", "RG30"}, "0118 496"},
}

// inwardLetters are the letters allowed in the last two positions of a
// postcode (C, I, K, M, O and V are never used there).
const inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"

var placePrefixes = []string{"North", "South", "East", "West", "Upper", "Lower", "Old", "New", "Great", "Little"}
var placeStems = []string{"field", "bridge", "brook", "ford", "ham", "ley", "worth", "by", "thorpe", "wick", "stone", "wood"}
var placeRoots = []string{"Ash", "Bramble", "Elm", "Hazel", "Holm", "Kings", "Marsh", "Oak", "Red", "Wil", "Thorn", "Cold"}
