// mul: out = a * b, truncated to WO bits.
//
// Both operands are sign- (SA/SB != 0) or zero-extended to a width above WA + WB and WO, where
// the exact product of any two such operands fits; the low WI bits of an unsigned product of
// the extended words are then the two's-complement product. SO only documents how out is read.
module mul #(
    parameter integer WA = 8,  // width of a
    parameter integer SA = 1,  // a is signed
    parameter integer WB = 8,  // width of b
    parameter integer SB = 1,  // b is signed
    parameter integer WO = 16, // width of out
    // verilator lint_off UNUSEDPARAM
    parameter integer SO = 1   // out is read as signed (bit pattern does not depend on it)
    // verilator lint_on UNUSEDPARAM
) (
    input  wire [WA-1:0] a,
    input  wire [WB-1:0] b,
    output wire [WO-1:0] out
);
    // conditions on parameters are folded at elaboration: no net exists only to be selected away
    localparam integer WI = ((WA + WB > WO) ? WA + WB : WO) + 1;

    wire [WI-1:0] a_ext = (SA != 0) ? {{(WI - WA) {a[WA-1]}}, a} : {{(WI - WA) {1'b0}}, a};
    wire [WI-1:0] b_ext = (SB != 0) ? {{(WI - WB) {b[WB-1]}}, b} : {{(WI - WB) {1'b0}}, b};

    // only the low WO bits of the product leave the module
    // verilator lint_off UNUSEDSIGNAL
    wire [WI-1:0] full = a_ext * b_ext;
    // verilator lint_on UNUSEDSIGNAL
    assign out = full[WO-1:0];
endmodule
