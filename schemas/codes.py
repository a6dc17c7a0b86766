"""Code lists of the landing contract (sources.md). Codes are case-sensitive."""
from __future__ import annotations

RECORD_STATUS = ("A", "D")  # A = active, D = deleted/annulled
SEX = ("M", "F")
REGION_CODES = ("1081", "1082", "1083", "1084", "1085")
POLICE_DISTRICTS = tuple(f"PK{i:02d}" for i in range(1, 13))

SPECIALTIES = ("adult_psychiatry", "child_adolescent_psychiatry", "somatic")
CONTACT_TYPES = ("inpatient", "outpatient", "emergency", "outreach")
PRIORITIES = ("acute", "planned")

# measure -> Danish term
MEASURES = {
    "involuntary_admission_red": "tvangsindlæggelse, røde papirer (farlighed)",
    "involuntary_admission_yellow": "tvangsindlæggelse, gule papirer (behandlingsindikation)",
    "involuntary_detention": "tvangstilbageholdelse",
    "belt_restraint": "bæltefiksering",
    "physical_holding": "fastholdelse",
    "acute_sedation": "akut beroligende medicin med tvang",
    "forced_medication": "tvangsmedicinering",
    "forced_feeding": "tvangsernæring",
    "forced_ect": "ECT med tvang",
    "forced_somatic_treatment": "tvangsbehandling af legemlig lidelse",
    "personal_shielding": "personlig skærmning",
    "locked_door": "døraflåsning",
}
INVOLUNTARY_ADMISSION_MEASURES = ("involuntary_admission_red", "involuntary_admission_yellow")
TARGET_MEASURES = ("belt_restraint", "physical_holding", "acute_sedation")  # the 2030 target (T1)
FORCED_TREATMENT_MEASURES = ("forced_medication", "forced_feeding", "forced_ect", "forced_somatic_treatment")
POINT_MEASURES = ("acute_sedation",)
REASONS = ("danger", "harassment", "vandalism", "voluntary", "other")
HOLDING_PURPOSES = ("independent", "transfer", "part_of_other_measure")

PLAN_TYPES = ("discharge_agreement", "coordination_plan")

SECTIONS = {
    "SEL85": "socialpædagogisk støtte (bostøtte)",
    "SEL99": "støtte- og kontaktperson",
    "SEL107": "midlertidigt botilbud",
    "SEL108": "længerevarende botilbud",
    "SEL110": "forsorgshjem",
}
RESIDENTIAL_SECTIONS = ("SEL107", "SEL108", "SEL110")

FORCE_TYPES = (
    "physical_holding",
    "emergency_intervention",
    "retention_in_home",
    "alarm_or_tracking",
    "relocation_without_consent",
    "other",
)

POLICE_EVENT_TYPES = (
    "assist_involuntary_admission",
    "custody_mental_state",
    "concern_report",
    "violence_report",
    "missing_person",
    "psp_referral",
)

# Regular expressions (full match)
PERSON_ID_RE = r"[0-9a-f]{16}"
REPLACEMENT_ID_RE = r"E[0-9a-f]{15}"
DEPARTMENT_RE = r"SOR[0-9]{9}"
MUNICIPALITY_RE = r"[0-9]{3}"
DELIVERY_ID_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(_[0-9]{2})?"
