// mux: out = msb(key) ? (a << SHA) : (b << SHB)   (or -(b << SHB) when NEG != 0), WO bits.
//
// msb(key) is the top bit of key at its own width: the sign of a signed key, the highest
// magnitude bit of an unsigned one. Both choices are sign- (SA/SB != 0) or zero-extended to a
// common width above every operand, shift and the output, so negating b is exact; the low WO
// bits of the chosen value are the output. SO only documents how they are read.
module mux #(
    parameter integer WK  = 1,  // width of key
    parameter integer WA  = 8,  // width of a
    parameter integer SA  = 1,  // a is signed
    parameter integer SHA = 0,  // left shift of a, >= 0
    parameter integer WB  = 8,  // width of b
    parameter integer SB  = 1,  // b is signed
    parameter integer SHB = 0,  // left shift of b, >= 0
    parameter integer NEG = 0,  // choose -(b << SHB) instead of b << SHB
    parameter integer WO  = 8,  // width of out
    // verilator lint_off UNUSEDPARAM
    parameter integer SO  = 1   // out is read as signed (bit pattern does not depend on it)
    // verilator lint_on UNUSEDPARAM
) (
    // only the top bit of key selects
    // verilator lint_off UNUSEDSIGNAL
    input  wire [WK-1:0] key,
    // verilator lint_on UNUSEDSIGNAL
    input  wire [WA-1:0] a,
    input  wire [WB-1:0] b,
    output wire [WO-1:0] out
);
    localparam integer WAS = WA + SHA;
    localparam integer WBS = WB + SHB;
    localparam integer WAB = (WAS > WBS) ? WAS : WBS;
    // two guard bits: one for the sign of -b, one so every replication count is >= 1
    // conditions on parameters are folded at elaboration: no net exists only to be selected away
    localparam integer WI = ((WAB > WO) ? WAB : WO) + 2;

    wire [WI-1:0] a_sh = ((SA != 0) ? {{(WI - WA) {a[WA-1]}}, a} : {{(WI - WA) {1'b0}}, a}) << SHA;
    wire [WI-1:0] b_sh = ((SB != 0) ? {{(WI - WB) {b[WB-1]}}, b} : {{(WI - WB) {1'b0}}, b}) << SHB;

    // only the low WO bits of the chosen value leave the module
    // verilator lint_off UNUSEDSIGNAL
    wire [WI-1:0] full = key[WK-1] ? a_sh : ((NEG != 0) ? {WI{1'b0}} - b_sh : b_sh);
    // verilator lint_on UNUSEDSIGNAL
    assign out = full[WO-1:0];
endmodule
