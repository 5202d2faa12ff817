package hl7v2_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

func Example() {
	raw := strings.Join([]string{
		`MSH|^~\&|PAS|RCB|JUNCTION|X26|20240501120000||ADT^A28^ADT_A05|MSG0001|P|2.4|||||GBR|UNICODE|EN`,
		`PID|1||D123^^^RCB^MR~9990500002^^^NHS^NH||SMITH^FREDRICA^J^^MRS||19650312|2`,
	}, "\r")
	m, err := hl7v2.Parse([]byte(raw))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Type(), m.Trigger(), m.Version(), m.ControlID())
	for _, rep := range m.Segment("PID").Field(3).Reps() {
		if rep.Component(4).String() == "NHS" {
			fmt.Println("NHS number:", rep.Component(1).String())
		}
	}
	fmt.Println("family name:", m.Get("PID-5.1"))

	ack := hl7v2.Ack(m, hl7v2.AA, nil, "ACK0001", time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC))
	fmt.Println(strings.ReplaceAll(string(ack), "\r", "\n"))
	// Output:
	// ADT A28 2.4 MSG0001
	// NHS number: 9990500002
	// family name: SMITH
	// MSH|^~\&|JUNCTION|X26|PAS|RCB|20240501120001+0000||ACK^A28^ACK|ACK0001|P|2.4|||||GBR|UNICODE|EN
	// MSA|AA|MSG0001
}

func ExampleAckForUnparsable() {
	raw := []byte("MSH|^~\\&|LAB|RX1|JUNCTION|X26|20240501||ORU^R01|LAB77|P|2.2\rPID|1")
	_, err := hl7v2.Parse(raw)
	fmt.Println(errors.Is(err, hl7v2.ErrUnsupportedVersion))
	ack := hl7v2.AckForUnparsable(raw, hl7v2.AR, err, "ACK0002", time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC))
	fmt.Println(strings.ReplaceAll(string(ack), "\r", "\n"))
	// Output:
	// true
	// MSH|^~\&|JUNCTION|X26|LAB|RX1|20240501120001+0000||ACK^R01|ACK0002|P|2.2
	// MSA|AR|LAB77|unsupported version id "2.2" (MSH-12); 2.3 to 2.8.2 are supported
	// ERR|MSH^1^12^203&Unsupported version id&HL70357
}
