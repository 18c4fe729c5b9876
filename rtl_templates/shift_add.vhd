-- shift_add: y = a + (b << S)  or  a - (b << S) when SUB /= 0, truncated to WO bits.
--
-- A negative S means b is the finer operand: a is shifted up by -S instead, so no bit of
-- either operand is dropped. Operands are sign- (SA/SB /= 0) or zero-extended to a common
-- width wider than every operand and the output, and the arithmetic is unsigned modulo
-- 2**WI on those words: the low WO bits are the two's-complement result. SO only documents
-- how y is read. Same parameters and semantics as shift_add.v.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity shift_add is
    generic (
        WA  : positive := 8;  -- width of a
        SA  : natural  := 1;  -- a is signed
        WB  : positive := 8;  -- width of b
        SB  : natural  := 1;  -- b is signed
        S   : integer  := 0;  -- shift of b (negative: shift of a by -S)
        SUB : natural  := 0;  -- subtract instead of add
        WO  : positive := 9;  -- width of y
        SO  : natural  := 1   -- y is read as signed (bit pattern does not depend on it)
    );
    port (
        a : in  std_logic_vector(WA - 1 downto 0);
        b : in  std_logic_vector(WB - 1 downto 0);
        y : out std_logic_vector(WO - 1 downto 0)
    );
end entity shift_add;

architecture rtl of shift_add is
    constant SHA : natural  := maximum(-S, 0);
    constant SHB : natural  := maximum(S, 0);
    -- one guard bit above everything
    constant WI  : positive := maximum(maximum(WA + SHA, WB + SHB), WO) + 1;
begin
    -- one process with variables: a quarter of the signal events of one statement per step
    calc: process (a, b)
        variable x, z : unsigned(WI - 1 downto 0);
    begin
        if SA /= 0 then x := unsigned(resize(signed(a), WI)); else x := resize(unsigned(a), WI); end if;
        if SB /= 0 then z := unsigned(resize(signed(b), WI)); else z := resize(unsigned(b), WI); end if;
        if SUB /= 0 then
            x := shift_left(x, SHA) - shift_left(z, SHB);
        else
            x := shift_left(x, SHA) + shift_left(z, SHB);
        end if;
        y <= std_logic_vector(x(WO - 1 downto 0));
    end process calc;
end architecture rtl;
