// negate: out = -a, truncated to WO bits.
//
// a is sign- (SA != 0) or zero-extended to a width above both WA and WO before negating, so
// the most negative signed value and every unsigned value negate exactly; the low WO bits of
// the two's-complement result are the output. SO only documents how they are read.
module negate #(
    parameter integer WA = 8,  // width of a
    parameter integer SA = 1,  // a is signed
    parameter integer WO = 9,  // width of out
    // verilator lint_off UNUSEDPARAM
    parameter integer SO = 1   // out is read as signed (bit pattern does not depend on it)
    // verilator lint_on UNUSEDPARAM
) (
    input  wire [WA-1:0] a,
    output wire [WO-1:0] out
);
    // conditions on parameters are folded at elaboration: no net exists only to be selected away
    localparam integer WI = ((WA > WO) ? WA : WO) + 1;

    // only the low WO bits of the full-width result leave the module
    // verilator lint_off UNUSEDSIGNAL
    wire [WI-1:0] full = {WI{1'b0}} - ((SA != 0) ? {{(WI - WA) {a[WA-1]}}, a} : {{(WI - WA) {1'b0}}, a});
    // verilator lint_on UNUSEDSIGNAL
    assign out = full[WO-1:0];
endmodule
