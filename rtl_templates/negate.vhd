-- negate: y = -a, truncated to WO bits.
--
-- a is sign- (SA /= 0) or zero-extended to a width above both WA and WO before negating, so
-- the most negative signed value and every unsigned value negate exactly; the low WO bits of
-- the two's-complement result are the output. SO only documents how they are read. Same
-- parameters and semantics as negate.v.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity negate is
    generic (
        WA : positive := 8;  -- width of a
        SA : natural  := 1;  -- a is signed
        WO : positive := 9;  -- width of y
        SO : natural  := 1   -- y is read as signed (bit pattern does not depend on it)
    );
    port (
        a : in  std_logic_vector(WA - 1 downto 0);
        y : out std_logic_vector(WO - 1 downto 0)
    );
end entity negate;

architecture rtl of negate is
    constant WI : positive := maximum(WA, WO) + 1;
    signal a_ext, full : unsigned(WI - 1 downto 0);
begin
    a_ext <= unsigned(resize(signed(a), WI)) when SA /= 0 else resize(unsigned(a), WI);
    full <= to_unsigned(0, WI) - a_ext;
    y <= std_logic_vector(full(WO - 1 downto 0));
end architecture rtl;
