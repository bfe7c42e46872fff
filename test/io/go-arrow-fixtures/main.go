// Writes Arrow IPC fixtures with Apache Arrow for Go, and reads back tensor messages written by mal, so that
// test/io/arrow-go-interop.test.ts can check both directions against an independent Arrow implementation.
//
//	go-arrow-fixtures write DIR   writes the fixtures listed in writeFixtures into DIR
//	go-arrow-fixtures read FILE   prints, as JSON, what an Arrow reader that knows no mal code sees in FILE
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/endian"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var mem = memory.NewGoAllocator()

func main() {
	if len(os.Args) != 3 {
		fail(fmt.Errorf("usage: go-arrow-fixtures write DIR | read FILE"))
	}
	var err error
	switch os.Args[1] {
	case "write":
		err = writeFixtures(os.Args[2])
	case "read":
		err = readMessage(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-arrow-fixtures:", err)
	os.Exit(1)
}

// tensorField is a column of the canonical extension arrow.fixed_shape_tensor. arrow-go has no type for it, so
// the field metadata is written as the canonical extensions spec defines it.
func tensorField(name string, shape []int, child arrow.Field) arrow.Field {
	size := 1
	for _, d := range shape {
		size *= d
	}
	meta, _ := json.Marshal(map[string][]int{"shape": shape})
	return arrow.Field{
		Name: name,
		Type: arrow.FixedSizeListOfField(int32(size), child),
		Metadata: arrow.NewMetadata(
			[]string{"ARROW:extension:name", "ARROW:extension:metadata"},
			[]string{"arrow.fixed_shape_tensor", string(meta)},
		),
	}
}

func item(t arrow.DataType) arrow.Field {
	return arrow.Field{Name: "item", Type: t, Nullable: false}
}

// oneTensor is a record batch of one row: the tensor whose values `values` holds, in a FixedSizeList column.
func oneTensor(field arrow.Field, values arrow.Array) arrow.RecordBatch {
	listType := field.Type.(*arrow.FixedSizeListType)
	data := array.NewData(listType, 1, []*memory.Buffer{nil}, []arrow.ArrayData{values.Data()}, 0, 0)
	list := array.MakeFromData(data)
	schema := arrow.NewSchema([]arrow.Field{field}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{list}, 1)
}

func float32s(values []float32) arrow.Array {
	b := array.NewFloat32Builder(mem)
	b.AppendValues(values, nil)
	return b.NewArray()
}

type options struct {
	file bool
	ipc  []ipc.Option
}

func write(path string, schema *arrow.Schema, batches []arrow.RecordBatch, o options) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	opts := append([]ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(mem)}, o.ipc...)
	type recordWriter interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	var w recordWriter
	if o.file {
		fw, err := ipc.NewFileWriter(f, opts...)
		if err != nil {
			return err
		}
		w = fw
	} else {
		w = ipc.NewWriter(f, opts...)
	}
	for _, batch := range batches {
		if err := w.Write(batch); err != nil {
			return err
		}
	}
	return w.Close()
}

func writeTensor(dir, name string, batch arrow.RecordBatch, o options) error {
	return write(filepath.Join(dir, name), batch.Schema(), []arrow.RecordBatch{batch}, o)
}

// ramp holds n float32 values k/4 - 3, exact in float32 and float16; repeating blocks make it compressible.
func ramp(n int) []float32 {
	out := make([]float32, n)
	for k := range out {
		out[k] = float32(k%16)/4 - 3
	}
	return out
}

func writeFixtures(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// F32 [2, 3]: -3, -2.75, ..., -1.75.
	f32 := tensorField("layers.0.weight", []int{2, 3}, item(arrow.PrimitiveTypes.Float32))
	if err := writeTensor(dir, "tensor-f32.arrows", oneTensor(f32, float32s(ramp(6))), options{}); err != nil {
		return err
	}

	// F16 [2, 2] as Arrow's halffloat: 1, -2, 0.5, 65504.
	hb := array.NewFloat16Builder(mem)
	for _, v := range []float32{1, -2, 0.5, 65504} {
		hb.Append(float16.New(v))
	}
	f16 := tensorField("half", []int{2, 2}, item(arrow.FixedWidthTypes.Float16))
	if err := writeTensor(dir, "tensor-f16.arrows", oneTensor(f16, hb.NewArray()), options{}); err != nil {
		return err
	}

	// BOOL [5] as Arrow's bit-packed bool: true, false, true, true, false.
	bb := array.NewBooleanBuilder(mem)
	bb.AppendValues([]bool{true, false, true, true, false}, nil)
	boolField := tensorField("mask", []int{5}, item(arrow.FixedWidthTypes.Boolean))
	if err := writeTensor(dir, "tensor-bool.arrows", oneTensor(boolField, bb.NewArray()), options{}); err != nil {
		return err
	}

	// I64 [3]: -1, 0, 2^40.
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{-1, 0, 1 << 40}, nil)
	i64 := tensorField("steps", []int{3}, item(arrow.PrimitiveTypes.Int64))
	if err := writeTensor(dir, "tensor-i64.arrows", oneTensor(i64, ib.NewArray()), options{}); err != nil {
		return err
	}

	// BF16 [2] as the project's extension on uint16 storage: 1.0 (0x3f80), -2.0 (0xc000).
	ub := array.NewUint16Builder(mem)
	ub.AppendValues([]uint16{0x3f80, 0xc000}, nil)
	bf16Item := arrow.Field{
		Name: "item", Type: arrow.PrimitiveTypes.Uint16,
		Metadata: arrow.NewMetadata([]string{"ARROW:extension:name", "ARROW:extension:metadata"}, []string{"mal.bfloat16", ""}),
	}
	bf16 := tensorField("brain", []int{2}, bf16Item)
	if err := writeTensor(dir, "tensor-bf16.arrows", oneTensor(bf16, ub.NewArray()), options{}); err != nil {
		return err
	}

	// F32 [64, 64] compressed, file format: LZ4 frame and zstd.
	big := tensorField("big", []int{64, 64}, item(arrow.PrimitiveTypes.Float32))
	if err := writeTensor(dir, "tensor-lz4.arrow", oneTensor(big, float32s(ramp(64*64))), options{file: true, ipc: []ipc.Option{ipc.WithLZ4()}}); err != nil {
		return err
	}
	if err := writeTensor(dir, "tensor-zstd.arrow", oneTensor(big, float32s(ramp(64*64))), options{file: true, ipc: []ipc.Option{ipc.WithZstd()}}); err != nil {
		return err
	}

	// The project's flat layout (mal.tensor.* keys), F32 [2, 3] split over three record batches of 2, 3 and 1.
	flatMeta := arrow.NewMetadata(
		[]string{"mal.tensor.name", "mal.tensor.dtype", "mal.tensor.shape"},
		[]string{"split", "F32", "[2,3]"},
	)
	flatSchema := arrow.NewSchema([]arrow.Field{{Name: "values", Type: arrow.PrimitiveTypes.Float32}}, &flatMeta)
	values := ramp(6)
	var parts []arrow.RecordBatch
	for _, r := range [][2]int{{0, 2}, {2, 5}, {5, 6}} {
		parts = append(parts, array.NewRecordBatch(flatSchema, []arrow.Array{float32s(values[r[0]:r[1]])}, int64(r[1]-r[0])))
	}
	if err := write(filepath.Join(dir, "tensor-flat-batches.arrows"), flatSchema, parts, options{}); err != nil {
		return err
	}

	// A data set of 5 examples of 4 bytes in three record batches (2, 2, 1), zstd compressed, file format:
	// example e has label e % 3 and pixels 10e, 10e+1, 10e+2, 10e+3.
	if err := writeDataset(dir); err != nil {
		return err
	}

	// Big-endian: F32 [3] = 1.5, -2, 1e-3 and a data set with Int32 labels and Float64 features, with the bytes
	// in big-endian order as the schema's endianness field says.
	return writeBigEndian(dir)
}

func writeDataset(dir string) error {
	pixels := arrow.FixedSizeListOfField(4, item(arrow.PrimitiveTypes.Uint8))
	meta := arrow.NewMetadata([]string{"mal.example_shape", "mal.classes"}, []string{"[1,2,2]", "3"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "pixels", Type: pixels},
	}, &meta)
	var batches []arrow.RecordBatch
	for _, r := range [][2]int{{0, 2}, {2, 4}, {4, 5}} {
		lb := array.NewUint8Builder(mem)
		pb := array.NewFixedSizeListBuilderWithField(mem, 4, item(arrow.PrimitiveTypes.Uint8))
		vb := pb.ValueBuilder().(*array.Uint8Builder)
		for e := r[0]; e < r[1]; e++ {
			lb.Append(uint8(e % 3))
			pb.Append(true)
			for k := 0; k < 4; k++ {
				vb.Append(uint8(10*e + k))
			}
		}
		batches = append(batches, array.NewRecordBatch(schema, []arrow.Array{lb.NewArray(), pb.NewArray()}, int64(r[1]-r[0])))
	}
	return write(filepath.Join(dir, "dataset-batches-zstd.arrow"), schema, batches, options{file: true, ipc: []ipc.Option{ipc.WithZstd()}})
}

func bigEndianBuffer(words [][]byte) *memory.Buffer {
	var out []byte
	for _, w := range words {
		out = append(out, w...)
	}
	return memory.NewBufferBytes(out)
}

func writeBigEndian(dir string) error {
	var words [][]byte
	for _, v := range []float32{1.5, -2, 1e-3} {
		w := make([]byte, 4)
		binary.BigEndian.PutUint32(w, math.Float32bits(v))
		words = append(words, w)
	}
	values := array.NewData(arrow.PrimitiveTypes.Float32, 3, []*memory.Buffer{nil, bigEndianBuffer(words)}, nil, 0, 0)
	field := tensorField("be", []int{3}, item(arrow.PrimitiveTypes.Float32))
	list := array.MakeFromData(array.NewData(field.Type, 1, []*memory.Buffer{nil}, []arrow.ArrayData{values}, 0, 0))
	schema := arrow.NewSchemaWithEndian([]arrow.Field{field}, nil, endian.BigEndian)
	batch := array.NewRecordBatch(schema, []arrow.Array{list}, 1)
	if err := write(filepath.Join(dir, "tensor-big-endian.arrows"), schema, []arrow.RecordBatch{batch}, options{}); err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "tensor-big-endian-lz4.arrows"), schema, []arrow.RecordBatch{batch}, options{ipc: []ipc.Option{ipc.WithLZ4()}}); err != nil {
		return err
	}

	// Data set: labels 0, 1 (Int32), features [0.25, -1] and [3, 0.5] (Float64), two examples of two.
	var labelWords, featureWords [][]byte
	for _, l := range []int32{0, 1} {
		w := make([]byte, 4)
		binary.BigEndian.PutUint32(w, uint32(l))
		labelWords = append(labelWords, w)
	}
	for _, v := range []float64{0.25, -1, 3, 0.5} {
		w := make([]byte, 8)
		binary.BigEndian.PutUint64(w, math.Float64bits(v))
		featureWords = append(featureWords, w)
	}
	featuresType := arrow.FixedSizeListOfField(2, item(arrow.PrimitiveTypes.Float64))
	dsSchema := arrow.NewSchemaWithEndian([]arrow.Field{
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
		{Name: "features", Type: featuresType},
	}, nil, endian.BigEndian)
	labels := array.MakeFromData(array.NewData(arrow.PrimitiveTypes.Int32, 2, []*memory.Buffer{nil, bigEndianBuffer(labelWords)}, nil, 0, 0))
	items := array.NewData(arrow.PrimitiveTypes.Float64, 4, []*memory.Buffer{nil, bigEndianBuffer(featureWords)}, nil, 0, 0)
	features := array.MakeFromData(array.NewData(featuresType, 2, []*memory.Buffer{nil}, []arrow.ArrayData{items}, 0, 0))
	dsBatch := array.NewRecordBatch(dsSchema, []arrow.Array{labels, features}, 2)
	return write(filepath.Join(dir, "dataset-big-endian.arrow"), dsSchema, []arrow.RecordBatch{dsBatch}, options{file: true})
}

// fieldReport is what the read command prints for each column.
type fieldReport struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Metadata      map[string]string `json:"metadata"`
	ItemType      string            `json:"itemType,omitempty"`
	ItemMetadata  map[string]string `json:"itemMetadata,omitempty"`
	Rows          int64             `json:"rows"`
	Values        []any             `json:"values"`
	SchemaMeta    map[string]string `json:"schemaMetadata"`
	Batches       int               `json:"batches"`
	BigEndianFlag bool              `json:"bigEndian"`
}

func metadataMap(m arrow.Metadata) map[string]string {
	out := map[string]string{}
	for k, key := range m.Keys() {
		out[key] = m.Values()[k]
	}
	return out
}

func valuesOf(a arrow.Array) ([]any, error) {
	var out []any
	switch v := a.(type) {
	case *array.Float32:
		for _, x := range v.Float32Values() {
			out = append(out, x)
		}
	case *array.Float64:
		for _, x := range v.Float64Values() {
			out = append(out, x)
		}
	case *array.Float16:
		for _, x := range v.Values() {
			out = append(out, x.Float32())
		}
	case *array.Boolean:
		for k := 0; k < v.Len(); k++ {
			out = append(out, v.Value(k))
		}
	case *array.Int64:
		for _, x := range v.Int64Values() {
			out = append(out, x)
		}
	case *array.Int32:
		for _, x := range v.Int32Values() {
			out = append(out, x)
		}
	case *array.Uint16:
		for _, x := range v.Uint16Values() {
			out = append(out, x)
		}
	case *array.Uint8:
		for _, x := range v.Uint8Values() {
			out = append(out, x)
		}
	case *array.Int8:
		for _, x := range v.Int8Values() {
			out = append(out, x)
		}
	default:
		return nil, fmt.Errorf("no printer for %s", a.DataType())
	}
	return out, nil
}

func readMessage(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := ipc.NewReader(f, ipc.WithAllocator(mem))
	if err != nil {
		return err
	}
	defer r.Release()
	schema := r.Schema()
	if len(schema.Fields()) != 1 {
		return fmt.Errorf("%s: %d columns, expected one", path, len(schema.Fields()))
	}
	field := schema.Field(0)
	report := fieldReport{
		Name: field.Name, Type: field.Type.String(), Metadata: metadataMap(field.Metadata),
		SchemaMeta: metadataMap(schema.Metadata()), BigEndianFlag: schema.Endianness() == endian.BigEndian,
		Values: []any{},
	}
	if list, ok := field.Type.(*arrow.FixedSizeListType); ok {
		report.ItemType = list.Elem().String()
		report.ItemMetadata = metadataMap(list.ElemField().Metadata)
	}
	for r.Next() {
		batch := r.RecordBatch()
		report.Batches++
		report.Rows += batch.NumRows()
		column := batch.Column(0)
		if list, ok := column.(*array.FixedSizeList); ok {
			column = array.NewSlice(list.ListValues(), int64(list.Offset())*int64(list.DataType().(*arrow.FixedSizeListType).Len()), int64(list.Offset()+list.Len())*int64(list.DataType().(*arrow.FixedSizeListType).Len()))
		}
		values, err := valuesOf(column)
		if err != nil {
			return err
		}
		report.Values = append(report.Values, values...)
	}
	if err := r.Err(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(report)
}
