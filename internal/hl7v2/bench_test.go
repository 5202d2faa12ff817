package hl7v2

import (
	"strings"
	"testing"
)

// benchADT is a typical NHS ADT^A01 (ITK v2.4 shape, about 1 KB).
var benchADT = []byte(strings.Join([]string{
	`MSH|^~\&|PAS|RCB|JUNCTION|X26|20240501120000||ADT^A01^ADT_A01|A0100000001|P|2.4|1||AL|NE|GBR|UNICODE|EN||iTKv1.0`,
	`EVN||20240501115900|||C1234567^Jones^Ann^^^Dr^^^GMC|20240501115900`,
	`PID|1||D1234567^^^RCB^MR~9990500002^^^NHS^NH||SMITH^FREDRICA^JANE^^MRS^^L||19650312|2|||29 WEST AVENUE^BURYTHORPE^MALTON^NORTH YORKSHIRE^YO32 5TT^GBR^H||01234 567890^PRN^PH~07700 900123^ORN^CP||EN|M|C22|||||A||N||GBR||||||NSTS01`,
	`PD1|||MALTON GP PRACTICE^^Y06601|G5612908^Townley^Gregory^^^Dr^^^GMC`,
	`NK1|1|SMITH^FRANCESCA^^^MRS^^L|16|29 WEST AVENUE^BURYTHORPE^MALTON^NORTH YORKSHIRE^YO32 5TT^GBR^H|01234 567890`,
	`PV1|1|I|RCB-WARD4^BAY2^BED7^RCB55||||C1234567^Jones^Ann^^^Dr^^^GMC|G5612908^Townley^Gregory^^^Dr^^^GMC|C7654321^Patel^Raj^^^Mr^^^GMC|300||||19|||C1234567^Jones^Ann^^^Dr^^^GMC|INPATIENT|V0000123^^^VISITID|||||||||||||||||||||||||20240501115900`,
	`PV2|||^Abdominal pain`,
	`ZU1|20240501115900|1|||N`,
}, "\r") + "\r")

// benchORU is a typical pathology ORU^R01 (full blood count, 14 results, about 2 KB).
var benchORU = func() []byte {
	segs := []string{
		`MSH|^~\&|WINPATH|RX1|JUNCTION|X26|20240501120000||ORU^R01^ORU_R01|R0100000001|P|2.4|||AL|NE|GBR|UNICODE|EN`,
		`PID|1||D1234567^^^RCB^MR~9990500002^^^NHS^NH||SMITH^FREDRICA^JANE^^MRS^^L||19650312|2`,
		`PV1|1|O|RCB-OPD^^^RCB55`,
		`ORC|RE|ORD123^RCB|LAB456^RX1||CM`,
		`OBR|1|ORD123^RCB|LAB456^RX1|FBC^Full blood count^WinPath|||20240501090000|||||||20240501093000|BLD^Blood|G5612908^Townley^Gregory||||||20240501115500|||F`,
	}
	tests := [][3]string{{"HB", "Haemoglobin", "g/L"}, {"WBC", "White cells", "x10*9/L"}, {"PLT", "Platelets", "x10*9/L"},
		{"RBC", "Red cells", "x10*12/L"}, {"HCT", "Haematocrit", "L/L"}, {"MCV", "MCV", "fL"}, {"MCH", "MCH", "pg"},
		{"MCHC", "MCHC", "g/L"}, {"RDW", "RDW", "%"}, {"NEUT", "Neutrophils", "x10*9/L"}, {"LYMP", "Lymphocytes", "x10*9/L"},
		{"MONO", "Monocytes", "x10*9/L"}, {"EOS", "Eosinophils", "x10*9/L"}, {"BASO", "Basophils", "x10*9/L"}}
	for i, tc := range tests {
		segs = append(segs, `OBX|`+itoa(i+1)+`|NM|`+tc[0]+`^`+tc[1]+`^WinPath||12.5|`+tc[2]+`|[ 11.5 - 16.5 ]|N|||F|||20240501115500`)
	}
	segs = append(segs, `NTE|1|L|Sample received 09:30\.br\Reported by the haematology laboratory`)
	return []byte(strings.Join(segs, "\r") + "\r")
}()

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// BenchmarkParse measures Parse plus the reads a mapper typically does (header, NHS number,
// and every OBX value for the ORU).
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		raw  []byte
	}{{"ADT_A01", benchADT}, {"ORU_R01", benchORU}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.raw)))
			b.ReportAllocs()
			for b.Loop() {
				m, err := Parse(bc.raw)
				if err != nil {
					b.Fatal(err)
				}
				if m.ControlID() == "" || m.Get("PID-3(2).1") != "9990500002" {
					b.Fatal("wrong values")
				}
				for _, obx := range m.All("OBX") {
					_ = obx.Field(5).String()
				}
			}
		})
	}
}
