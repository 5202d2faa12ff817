package synth

// Terminology used by the generator. Every code here is a real concept in
// its code system with a display that the code system accepts; the lists
// are kept short on purpose, because a wrong code in test data trains
// downstream code to accept wrong codes.

// term is one coded clinical item.
type term struct{ code, display string }

// chronic conditions, coded in SNOMED CT, with the rough adult prevalence
// weight the generator uses (per 1000) and the minimum age of onset.
var chronicConditions = []struct {
	term
	perMille int
	minAge   int
}{
	{term{"38341003", "Hypertensive disorder, systemic arterial"}, 140, 30},
	{term{"44054006", "Diabetes mellitus type 2"}, 70, 30},
	{term{"195967001", "Asthma"}, 90, 3},
	{term{"13645005", "Chronic obstructive lung disease"}, 30, 40},
	{term{"49436004", "Atrial fibrillation"}, 25, 50},
	{term{"84114007", "Heart failure"}, 15, 55},
	{term{"35489007", "Depressive disorder"}, 110, 16},
	{term{"197480006", "Anxiety disorder"}, 80, 14},
	{term{"396275006", "Osteoarthritis"}, 90, 45},
	{term{"709044004", "Chronic kidney disease"}, 35, 50},
	{term{"40930008", "Hypothyroidism"}, 30, 20},
	{term{"84757009", "Epilepsy"}, 8, 2},
	{term{"414916001", "Obesity"}, 100, 12},
	{term{"55822004", "Hyperlipidemia"}, 80, 35},
}

// acute problems seen in primary care.
var acuteProblems = []term{
	{"444814009", "Viral sinusitis"},
	{"10509002", "Acute bronchitis"},
	{"43878008", "Streptococcal sore throat"},
	{"65363002", "Otitis media"},
	{"68566005", "Urinary tract infectious disease"},
	{"279039007", "Low back pain"},
	{"25064002", "Headache"},
	{"271807003", "Eruption of skin"},
}

// emergency presentations: the problem that brought the patient to the
// emergency department or led to admission.
var emergencyProblems = []term{
	{"29857009", "Chest pain"},
	{"267036007", "Dyspnea"},
	{"233604007", "Pneumonia"},
	{"22298006", "Myocardial infarction"},
	{"230690007", "Cerebrovascular accident"},
	{"62315008", "Diarrhea"},
}

// procedures done in secondary or tertiary care.
var procedures = []term{
	{"80146002", "Appendectomy"},
	{"38102005", "Cholecystectomy"},
	{"52734007", "Total replacement of hip"},
	{"609588000", "Total knee replacement"},
	{"73761001", "Colonoscopy"},
	{"415070008", "Percutaneous coronary intervention"},
	{"232717009", "Coronary artery bypass grafting"},
	{"40701008", "Echocardiography"},
	{"29303009", "Electrocardiographic procedure"},
}

// medicines, coded as dm+d virtual medicinal products (VMP ids are SNOMED
// CT concept ids), with a dose instruction a GP would write.
var medicines = []struct {
	term
	dose string
	// for is the SNOMED code of the condition it treats, or "" for any.
	forCode string
}{
	{term{"322236009", "Paracetamol 500mg tablets"}, "Two tablets up to four times a day when required", ""},
	{term{"319773006", "Aspirin 75mg dispersible tablets"}, "One tablet once a day", "49436004"},
	{term{"320000009", "Simvastatin 40mg tablets"}, "One tablet at night", "55822004"},
	{term{"39113611000001102", "Salbutamol 100micrograms/dose inhaler CFC free"}, "Two puffs when required", "195967001"},
}

// allergies: the SNOMED "allergy to X" finding, its category and the
// reactions seen with it.
var allergies = []struct {
	term
	category string
}{
	{term{"91936005", "Allergy to penicillin"}, "medication"},
	{term{"91935009", "Allergy to peanuts"}, "food"},
	{term{"300913006", "Shellfish allergy"}, "food"},
	{term{"417532002", "Allergy to fish"}, "food"},
	{term{"425525006", "Allergy to dairy product"}, "food"},
	{term{"232350006", "House dust mite allergy"}, "environment"},
	{term{"418689008", "Allergy to grass pollen"}, "environment"},
	{term{"300916003", "Latex allergy"}, "environment"},
}

var reactions = []term{
	{"247472004", "Wheal"},
	{"271807003", "Eruption of skin"},
	{"76067001", "Sneezing"},
	{"39579001", "Anaphylaxis"},
}

// vaccines in CVX; UK Core prefers SNOMED CT vaccine products, but CVX is
// an R4 code system with codes known to be exact, and Immunization's
// vaccineCode binding is example strength.
var vaccines = []struct {
	term
	minAge int
}{
	{term{"140", "Influenza, seasonal, injectable, preservative free"}, 2},
	{term{"33", "pneumococcal polysaccharide vaccine, 23 valent"}, 65},
	{term{"187", "zoster vaccine recombinant"}, 70},
	{term{"208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose"}, 12},
	{term{"62", "HPV, quadrivalent"}, 12},
	{term{"115", "Tdap"}, 16},
}

// imaging: modality (DICOM), SOP class, the SNOMED procedure and an
// impression the report may carry.
var imaging = []struct {
	modality, modalityDisplay, sopClass, sopDisplay string
	procedure                                       term
	bodySite                                        term
}{
	{"DX", "Digital Radiography", "1.2.840.10008.5.1.4.1.1.1.1", "Digital X-Ray Image Storage - For Presentation",
		term{"399208008", "Plain chest X-ray"}, term{"51185008", "Thoracic structure"}},
	{"CT", "Computed Tomography", "1.2.840.10008.5.1.4.1.1.2", "CT Image Storage",
		term{"77477000", "Computerized axial tomography"}, term{"69536005", "Head structure"}},
	{"MR", "Magnetic Resonance", "1.2.840.10008.5.1.4.1.1.4", "MR Image Storage",
		term{"113091000", "Magnetic resonance imaging"}, term{"69536005", "Head structure"}},
	{"US", "Ultrasound", "1.2.840.10008.5.1.4.1.1.6.1", "Ultrasound Image Storage",
		term{"16310003", "Ultrasonography"}, term{"113345001", "Abdominal structure"}},
}

// lab tests: LOINC code and display, UCUM unit, and a UK adult reference
// range used to draw plausible values.
type labTest struct {
	code, display, unit string
	lo, hi              float64
	decimals            int
}

var (
	haemoglobin = labTest{"718-7", "Hemoglobin [Mass/volume] in Blood", "g/L", 115, 170, 0}
	wbc         = labTest{"6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*9/L", 4.0, 11.0, 1}
	platelets   = labTest{"777-3", "Platelets [#/volume] in Blood by Automated count", "10*9/L", 150, 400, 0}
	sodium      = labTest{"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 133, 146, 0}
	potassium   = labTest{"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.3, 1}
	creatinine  = labTest{"14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L", 60, 110, 0}
	hba1c       = labTest{"59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol", 30, 47, 0}
)

// lab panels: the DiagnosticReport code and the tests it groups.
var (
	panelFBC = struct {
		term
		tests []labTest
	}{term{"58410-2", "CBC panel - Blood by Automated count"}, []labTest{haemoglobin, wbc, platelets}}
	panelUE = struct {
		term
		tests []labTest
	}{term{"51990-0", "Basic metabolic panel - Blood"}, []labTest{sodium, potassium, creatinine}}
	panelHbA1c = struct {
		term
		tests []labTest
	}{term{"59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol"}, []labTest{hba1c}}
)

// specialties of consultant-led services, with their NHS treatment
// function codes (NHS Data Dictionary), used for referrals.
var specialties = []struct{ code, name string }{
	{"100", "General Surgery"},
	{"101", "Urology"},
	{"110", "Trauma and Orthopaedics"},
	{"120", "ENT"},
	{"130", "Ophthalmology"},
	{"300", "General Internal Medicine"},
	{"320", "Cardiology"},
	{"340", "Respiratory Medicine"},
}
