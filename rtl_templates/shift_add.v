// shift_add: out = a + (b << S)  or  a - (b << S) when SUB != 0, truncated to WO bits.
//
// A negative S means b is the finer operand: a is shifted up by -S instead, so no bit of
// either operand is dropped. Operands are sign- (SA/SB != 0) or zero-extended to a common
// width wider than every operand and the output before the arithmetic, so Verilog's rule
// "one unsigned operand makes the whole expression unsigned" can never bite: all arithmetic
// is on same-width vectors whose extension was done by hand. The low WO bits of the
// two's-complement result are the output; SO only documents how they are read.
module shift_add #(
    parameter integer WA  = 8,  // width of a
    parameter integer SA  = 1,  // a is signed
    parameter integer WB  = 8,  // width of b
    parameter integer SB  = 1,  // b is signed
    parameter integer S   = 0,  // shift of b (negative: shift of a by -S)
    parameter integer SUB = 0,  // subtract instead of add
    parameter integer WO  = 9,  // width of out
    // verilator lint_off UNUSEDPARAM
    parameter integer SO  = 1   // out is read as signed (bit pattern does not depend on it)
    // verilator lint_on UNUSEDPARAM
) (
    input  wire [WA-1:0] a,
    input  wire [WB-1:0] b,
    output wire [WO-1:0] out
);
    localparam integer SHA = (S < 0) ? -S : 0;
    localparam integer SHB = (S > 0) ? S : 0;
    localparam integer WAS = WA + SHA;
    localparam integer WBS = WB + SHB;
    localparam integer WAB = (WAS > WBS) ? WAS : WBS;
    // one guard bit above everything: every replication count below is >= 1
    localparam integer WI = ((WAB > WO) ? WAB : WO) + 1;

    // Each operand is extended and shifted by one assignment, the sum by another (the
    // conditions are parameters, folded at elaboration): three nets per adder.
    wire [WI-1:0] a_sh = ((SA != 0) ? {{(WI - WA) {a[WA-1]}}, a} : {{(WI - WA) {1'b0}}, a}) << SHA;
    wire [WI-1:0] b_sh = ((SB != 0) ? {{(WI - WB) {b[WB-1]}}, b} : {{(WI - WB) {1'b0}}, b}) << SHB;
    // only the low WO bits of the full-width result leave the module
    // verilator lint_off UNUSEDSIGNAL
    wire [WI-1:0] full = (SUB != 0) ? a_sh - b_sh : a_sh + b_sh;
    // verilator lint_on UNUSEDSIGNAL
    assign out = full[WO-1:0];
endmodule
