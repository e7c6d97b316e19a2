package rules

// op is an operation a rule may use: JsonLogic's own, and pretix's additions
// for check-in rules.
type op uint8

const (
	opLit    op = iota + 1 // a constant
	opArray                // an array literal with an element that is not constant
	opFact                 // a variable of Facts, named in the rule
	opData                 // {"var": path} read from the data in scope (inside map, filter, ... or the official suite's data)
	opVarDyn               // {"var": expr}, the name computed when evaluated

	opIf
	opEq
	opStrictEq
	opNe
	opStrictNe
	opNot
	opNotNot
	opOr
	opAnd
	opGt
	opGe
	opLt
	opLe
	opMax
	opMin
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opMap
	opFilter
	opReduce
	opAll
	opNone
	opSome
	opMerge
	opIn
	opCat
	opSubstr
	opMissing
	opMissingSome

	// pretix's additions.
	opObjectList
	opLookup
	opInList
	opBuildTime
	opIsBefore
	opIsAfter
	opEntriesSince
	opEntriesBefore
	opEntriesDaysSince
	opEntriesDaysBefore

	// Set by the compiler in place of opInList or opIn on a constant list.
	opInSet
)

// opInfo says how an operation is written and how many arguments it takes.
type opInfo struct {
	name     string
	min, max int  // arguments; max -1 is any number
	impure   bool // reads the facts or data: never folded into a constant
	scoped   bool // the second argument is evaluated per array element (map, filter, ...)
}

var ops = map[string]op{}

var opInfos = [...]opInfo{
	opVarDyn:      {name: "var", min: 0, max: 2, impure: true},
	opIf:          {name: "if", min: 0, max: -1},
	opEq:          {name: "==", min: 2, max: 2},
	opStrictEq:    {name: "===", min: 2, max: 2},
	opNe:          {name: "!=", min: 2, max: 2},
	opStrictNe:    {name: "!==", min: 2, max: 2},
	opNot:         {name: "!", min: 1, max: 1},
	opNotNot:      {name: "!!", min: 1, max: 1},
	opOr:          {name: "or", min: 0, max: -1},
	opAnd:         {name: "and", min: 0, max: -1},
	opGt:          {name: ">", min: 2, max: 2},
	opGe:          {name: ">=", min: 2, max: 2},
	opLt:          {name: "<", min: 2, max: 3},
	opLe:          {name: "<=", min: 2, max: 3},
	opMax:         {name: "max", min: 0, max: -1},
	opMin:         {name: "min", min: 0, max: -1},
	opAdd:         {name: "+", min: 0, max: -1},
	opSub:         {name: "-", min: 1, max: 2},
	opMul:         {name: "*", min: 1, max: -1},
	opDiv:         {name: "/", min: 2, max: 2},
	opMod:         {name: "%", min: 2, max: 2},
	opMap:         {name: "map", min: 2, max: 2, scoped: true},
	opFilter:      {name: "filter", min: 2, max: 2, scoped: true},
	opReduce:      {name: "reduce", min: 2, max: 3, scoped: true},
	opAll:         {name: "all", min: 2, max: 2, scoped: true},
	opNone:        {name: "none", min: 2, max: 2, scoped: true},
	opSome:        {name: "some", min: 2, max: 2, scoped: true},
	opMerge:       {name: "merge", min: 0, max: -1},
	opIn:          {name: "in", min: 2, max: 2},
	opCat:         {name: "cat", min: 0, max: -1},
	opSubstr:      {name: "substr", min: 2, max: 3},
	opMissing:     {name: "missing", min: 0, max: -1, impure: true},
	opMissingSome: {name: "missing_some", min: 2, max: 2, impure: true},

	opObjectList:        {name: "objectList", min: 0, max: -1},
	opLookup:            {name: "lookup", min: 2, max: 3},
	opInList:            {name: "inList", min: 2, max: 2},
	opBuildTime:         {name: "buildTime", min: 1, max: 2, impure: true},
	opIsBefore:          {name: "isBefore", min: 2, max: 3},
	opIsAfter:           {name: "isAfter", min: 2, max: 3},
	opEntriesSince:      {name: "entries_since", min: 1, max: 1, impure: true},
	opEntriesBefore:     {name: "entries_before", min: 1, max: 1, impure: true},
	opEntriesDaysSince:  {name: "entries_days_since", min: 1, max: 1, impure: true},
	opEntriesDaysBefore: {name: "entries_days_before", min: 1, max: 1, impure: true},

	opInSet: {name: "inList", min: 2, max: 2},
}

func init() {
	for o := opVarDyn; o < opInSet; o++ {
		ops[opInfos[o].name] = o
	}
	ops["?:"] = opIf
}

// Operators lists the operations a rule may use.
func Operators() []string {
	out := make([]string, 0, len(ops))
	for o := opVarDyn; o < opInSet; o++ {
		out = append(out, opInfos[o].name)
	}
	return append(out, "?:")
}
